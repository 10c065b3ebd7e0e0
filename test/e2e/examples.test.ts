import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gust, ROOT, records, startGust } from '../helpers/gust.js';

// `npm start` runs `gust up examples`: the same here, on a free port and a temporary data folder.
let g: Gust;

beforeAll(async () => {
  g = await startGust({ dir: path.join(ROOT, 'examples') });
});

afterAll(async () => {
  await g?.stop();
});

describe('examples/hello-api (web-standard JSON API)', () => {
  it('greets by query, by path and by POST body', async () => {
    expect(await (await fetch(`${g.url}/hello?name=Ada`)).json()).toMatchObject({ message: 'Hello, Ada.' });
    expect(await (await fetch(`${g.url}/hello/Grace`)).json()).toMatchObject({ message: 'Hello, Grace.' });
    const posted = await fetch(`${g.url}/hello/Linus`, {
      method: 'POST',
      body: JSON.stringify({ punctuation: '!' }),
    });
    expect(await posted.json()).toMatchObject({ message: 'Hello, Linus!' });
    const [last] = await records(g, 'hello-api', 1);
    expect(last!.logs).toContain('greeting Linus');
  });
});

describe('examples/lambda-classic (an unmodified AWS Lambda handler)', () => {
  it('reads, writes and misses orders with API Gateway v2 events', async () => {
    expect(await (await fetch(`${g.url}/orders/42`)).json()).toEqual({
      id: '42',
      item: 'umbrella',
      quantity: 1,
    });
    const put = await fetch(`${g.url}/orders/7`, { method: 'PUT', body: JSON.stringify({ item: 'hat' }) });
    expect(put.status).toBe(201);
    expect(await (await fetch(`${g.url}/orders/7`)).json()).toEqual({ item: 'hat', id: '7' });
    const missing = await fetch(`${g.url}/orders/1`);
    expect(missing.status).toBe(404);
    const bad = await fetch(`${g.url}/orders/8`, { method: 'PUT', body: 'not json' });
    expect(bad.status).toBe(400);
  });
});
