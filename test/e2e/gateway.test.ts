import { request, STATUS_CODES } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployProject, type Gust, records, startGust, WAIT } from '../helpers/gust.js';

let g: Gust;

beforeAll(async () => {
  g = await startGust();
  await deployProject(g, {
    'gust.yaml':
      'functions:\n  sink:\n    handler: s.mjs\n    triggers:\n      - http: { path: /sink, methods: [POST, PUT] }\n',
    's.mjs': 'export default async (req) => new Response(String((await req.arrayBuffer()).byteLength));',
  });
});

afterAll(async () => {
  await g?.stop();
});

describe('the gateway', () => {
  it('answers /_gust/healthz without a key', async () => {
    const res = await fetch(`${g.url}/_gust/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers 404 and 405 as JSON', async () => {
    const missing = await fetch(`${g.url}/nowhere`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('NOT_FOUND');
    const wrongMethod = await fetch(`${g.url}/sink`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST, PUT');
    expect((await wrongMethod.json()).error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('accepts a body of exactly 6 MB', async () => {
    const res = await fetch(`${g.url}/sink`, { method: 'POST', body: new Uint8Array(6 * 1024 * 1024) });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(String(6 * 1024 * 1024));
  });

  it('answers 413 to a body over 6 MB before any instance sees it', async () => {
    const before = (await records(g, 'sink')).length;
    const res = await fetch(`${g.url}/sink`, { method: 'POST', body: new Uint8Array(6 * 1024 * 1024 + 1) });
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('PAYLOAD_TOO_LARGE');
    expect((await records(g, 'sink')).length).toBe(before);
  });

  for (const [where, path, status] of [
    ['a path no route takes', '/nowhere', 404],
    ['a method the route does not take', '/sink', 405],
    ['the control API without a key', '/_gust/api/v1/functions', 401],
  ] as const) {
    it(`refuses ${where} from the head alone, without waiting for the body`, async () => {
      // 6 MB announced, 5 bytes sent: an answer can only come before the body.
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(new URL(g.url).port), '127.0.0.1', () => {
          const method = status === 405 ? 'GET' : 'POST';
          socket.write(`${method} ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 6000000\r\n\r\nhello`);
        });
        let text = '';
        socket.on('data', (b) => {
          text += b.toString();
          if (text.includes('\r\n\r\n')) {
            socket.destroy();
            resolve(text);
          }
        });
        socket.on('error', reject);
        setTimeout(() => reject(new Error('no answer before the body')), WAIT.timeout).unref();
      });
      expect(answer.split('\r\n')[0]).toBe(`HTTP/1.1 ${status} ${STATUS_CODES[status]}`);
    });
  }

  it('answers 413 to a chunked body that grows past 6 MB without a content-length', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${g.url}/sink`, { method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(1024 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent < 8) {
          sent++;
          if (!req.write(chunk)) return req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(status).toBe(413);
  });
});
