/** A baseline for GETs: a bare node:http server sending the files of one folder (argv[2]) whole. */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';

const dir = process.argv[2];
const server = http.createServer(async (req, res) => {
  try {
    const body = await readFile(path.join(dir, path.basename(req.url ?? '')));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
server.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
