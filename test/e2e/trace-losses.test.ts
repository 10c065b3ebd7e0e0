/**
 * What the trace exporter says when spans are lost: with the collector down, one line of the
 * platform's log saying how many spans, of how many invocations, and why (no stack); nothing more
 * once the collector is back and nothing else is lost, the stop included; and, stopped while the
 * collector is still down, what was left unsent. The exporter sends OTEL_EXPORTER_OTLP_HEADERS.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deployProject, type Gust, invoke, records, startGust, WAIT } from '../helpers/gust.js';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A port nothing listens on (yet): connections to it are refused. */
async function closedPort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  await once(s, 'close');
  return port;
}

/** A collector on that port: the headers of each export it took, and the invocation ids in it. */
async function collector(port: number) {
  const got: { headers: IncomingHttpHeaders; body: string }[] = [];
  const s = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  servers.push(s);
  s.listen(port, '127.0.0.1');
  await once(s, 'listening');
  return got;
}

const FILES = {
  'gust.yaml': 'functions:\n  hello:\n    handler: f.mjs\n',
  'f.mjs': 'export const handler = async () => "hi";\n',
};

/** The lines of the platform's log that speak of spans. */
const spanLines = (g: Gust) =>
  g
    .stderr()
    .split('\n')
    .filter((l) => l.includes('span(s)'));

/** Each invocation is its span, wait and run, and init when cold. */
const spansOf = async (g: Gust) => (await records(g, 'hello')).reduce((n, r) => n + (r.cold ? 4 : 3), 0);

describe('spans the collector did not take', () => {
  it('are said in one line, how many of how many invocations and why; nothing more once it is back, the stop included', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}`;
    const g = await startGust({
      env: { GUST_OTLP_URL: url, OTEL_EXPORTER_OTLP_HEADERS: 'x-team=abc,x-dataset=gust%20test' },
    });
    await deployProject(g, FILES);
    for (let i = 0; i < 3; i++) expect((await invoke(g, 'hello', {})).status).toBe(200);
    const spans = await spansOf(g);
    // after the exporter's retries (about 10 s)
    await vi.waitFor(() => expect(spanLines(g)).toHaveLength(1), WAIT);
    expect(spanLines(g)[0]).toMatch(
      `OTLP export to ${url} lost spans: ${spans} span(s) of 3 invocation(s) not sent (connect ECONNREFUSED 127.0.0.1:${port})`,
    );
    expect(g.stderr()).not.toMatch(/^\s+at /m);

    // the collector is back: the next invocation's spans reach it, with the headers of the environment
    const got = await collector(port);
    const { body } = await invoke(g, 'hello', {});
    const id = (body as { invocation: { id: string } }).invocation.id;
    await vi.waitFor(() => expect(got.some((e) => e.body.includes(id))).toBe(true), WAIT);
    expect(got[0]!.headers).toMatchObject({ 'x-team': 'abc', 'x-dataset': 'gust test' });
    expect(await g.stop()).toBe(0);
    expect(spanLines(g)).toHaveLength(1);
  });

  it('still waiting at the stop, with the collector down, are said as unsent', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const g = await startGust({ env: { GUST_OTLP_URL: url } });
    await deployProject(g, FILES);
    expect((await invoke(g, 'hello', {})).status).toBe(200);
    const spans = await spansOf(g);
    expect(await g.stop()).toBe(0);
    expect(spanLines(g)).toEqual([
      expect.stringContaining(
        `OTLP export to ${url} lost spans: ${spans} span(s) of 1 invocation(s) still unsent at the stop (the collector had not taken them 5 s after the stop began)`,
      ),
    ]);
  });
});
