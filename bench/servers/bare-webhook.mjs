/**
 * The webhook baseline: a bare node:http server that does what a webhook receiver must at least
 * do before its 202: read the whole body, check its HMAC-SHA256 (X-Signature-256, Gust's
 * hmac-sha256 contract) against the secret in constant time, and answer. It queues nothing.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';

const secret = process.env.WEBHOOK_SECRET ?? '';
if (secret === '') throw new Error('WEBHOOK_SECRET is required');

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const given = /^sha256=([0-9a-f]{64})$/i.exec(req.headers['x-signature-256'] ?? '')?.[1];
    const expected = createHmac('sha256', secret).update(Buffer.concat(chunks)).digest();
    const ok = given !== undefined && timingSafeEqual(expected, Buffer.from(given, 'hex'));
    const body = JSON.stringify(ok ? { accepted: true } : { error: 'bad signature' });
    res.writeHead(ok ? 202 : 401, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
