import { createHmac, randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { gust } from '../cli/helpers.js';
import { deploy, type Gust, ROOT, records, startGust, WAIT } from '../helpers/gust.js';

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

describe('examples/github-webhook (a GitHub push webhook, verified, turned into a message)', () => {
  it('deploys once its secret is set, and turns a push signed as GitHub signs it into a message', async () => {
    const secret = 'example-webhook-secret';
    const set = await gust(['secrets', 'set', 'GITHUB_WEBHOOK_SECRET'], {
      env: { GUST_URL: g.url, GUST_API_KEY: g.key },
      input: secret,
    });
    expect(set.code).toBe(0);
    await deploy(g, path.join(ROOT, 'examples', 'github-webhook'));

    const body = JSON.stringify({
      ref: 'refs/heads/main',
      after: '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c',
      repository: { full_name: 'octo-org/octo-repo' },
      pusher: { name: 'octocat' },
      commits: [{ id: '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c', message: 'Fix all the bugs' }],
    });
    const delivery = randomUUID();
    const res = await fetch(`${g.url}/hooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': delivery,
        'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
      },
      body,
    });
    expect(res.status).toBe(202);
    await vi.waitFor(async () => {
      const [run] = await records(g, 'github-push', 1);
      expect(run?.logs).toContain(
        `push {"repository":"octo-org/octo-repo","branch":"main","head":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","pusher":"octocat","commits":1,"delivery":"${delivery}"}`,
      );
    }, WAIT);
  });
});
