import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, cli, deployProject, type Gust, startGust } from '../helpers/gust.js';

let g: Gust;

beforeAll(async () => {
  g = await startGust();
  await deployProject(g, {
    'gust.yaml': `
topics: [news]
functions:
  open:
    handler: h.mjs
    triggers:
      - http: { path: /open }
  guarded:
    handler: h.mjs
    triggers:
      - http: { path: /guarded, auth: key }
  other:
    handler: h.mjs
    triggers:
      - http: { path: /other, auth: key }
`,
    'h.mjs': `export default (req) => Response.json({ sawAuthorization: req.headers.has('authorization') });`,
  });
});

afterAll(async () => {
  await g?.stop();
});

async function newKey(
  scope: string,
  extra: Record<string, unknown> = {},
): Promise<{ id: string; key: string }> {
  const r = await api<{ id: string; key: string }>(g, 'POST', '/keys', { scope, ...extra });
  expect(r.status).toBe(200);
  return r.body;
}

describe('the admin key', () => {
  it('is written to <data>/admin.key with mode 0600 on first start', async () => {
    const s = await stat(path.join(g.dataDir, 'admin.key'));
    expect(s.mode & 0o777).toBe(0o600);
    expect(g.key).toMatch(/^gust_[A-Z2-7]{16}_[\w-]{43}$/);
  });
});

describe('the control API', () => {
  it('answers 401 without a key or with a wrong one', async () => {
    const none = await api<{ error: { code: string } }>(g, 'GET', '/functions', undefined, null);
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('UNAUTHORIZED');
    const wrong = await api(g, 'GET', '/functions', undefined, `gust_${'A'.repeat(16)}_${'x'.repeat(43)}`);
    expect(wrong.status).toBe(401);
  });

  it('answers 403 outside the key scope', async () => {
    const invoke = await newKey('invoke');
    expect((await api(g, 'GET', '/functions', undefined, invoke.key)).status).toBe(403);
    expect((await api(g, 'POST', '/keys', { scope: 'admin' }, invoke.key)).status).toBe(403);
    const deployKey = await newKey('deploy');
    expect((await api(g, 'GET', '/functions', undefined, deployKey.key)).status).toBe(200);
    expect((await api(g, 'POST', '/keys', { scope: 'admin' }, deployKey.key)).status).toBe(403);
    expect((await api(g, 'POST', '/functions/open/invoke', {}, deployKey.key)).status).toBe(403);
    expect((await api(g, 'POST', '/functions/open/invoke', {}, invoke.key)).status).toBe(200);
  });

  it('stops accepting a revoked key', async () => {
    const k = await newKey('deploy');
    expect((await api(g, 'GET', '/functions', undefined, k.key)).status).toBe(200);
    const revoked = await cli(g, ['keys', 'revoke', k.id]);
    expect(revoked.code).toBe(0);
    expect((await api(g, 'GET', '/functions', undefined, k.key)).status).toBe(401);
  });

  it('lists keys without ever showing a whole key', async () => {
    const k = await newKey('invoke');
    const ls = await cli(g, ['keys', 'ls', '--json']);
    expect(ls.code).toBe(0);
    expect(ls.stdout).not.toContain(k.key);
    expect(ls.stdout).toContain(k.id);
  });

  it('creates keys from the CLI with the bearer form and the SigV4 pair', async () => {
    const r = await cli(g, [
      'keys',
      'create',
      '--scope',
      'invoke',
      '--function',
      'guarded',
      '--expires',
      '30d',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const created = JSON.parse(r.stdout);
    expect(created).toMatchObject({ scope: 'invoke', function: 'guarded' });
    expect(created.key).toMatch(/^gust_/);
    expect(created.accessKeyId).toMatch(/^GUSK[A-Z2-7]{16}$/);
    expect(typeof created.secretAccessKey).toBe('string');
    expect(Date.parse(created.expiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);
  });

  it('refuses to limit a key to one function unless it is an invoke key', async () => {
    const r = await api<{ error: { code: string; message: string } }>(g, 'POST', '/keys', {
      scope: 'deploy',
      function: 'open',
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain('invoke keys only');
  });

  it('refuses a scope that does not exist', async () => {
    const r = await cli(g, ['keys', 'create', '--scope', 'root']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/scope/);
  });
});

describe('routes with auth: key', () => {
  it('refuse calls without a key and accept an invoke key, which the function never sees', async () => {
    expect((await fetch(`${g.url}/guarded`)).status).toBe(401);
    const k = await newKey('invoke', { function: 'guarded' });
    const ok = await fetch(`${g.url}/guarded`, { headers: { authorization: `Bearer ${k.key}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ sawAuthorization: false });
    const elsewhere = await fetch(`${g.url}/other`, { headers: { authorization: `Bearer ${k.key}` } });
    expect(elsewhere.status).toBe(403);
    expect((await fetch(`${g.url}/open`)).status).toBe(200);
  });

  it('a key limited to one function can publish to no topic: that would run every subscriber', async () => {
    const k = await newKey('invoke', { function: 'guarded' });
    const published = await api<{ error: { code: string; message: string } }>(
      g,
      'POST',
      '/topics/news/publish',
      { data: { from: 'a limited key' } },
      k.key,
    );
    expect(published.status).toBe(403);
    expect(published.body.error.message).toContain('limited to function guarded');
    const cloudEvent = await fetch(`${g.url}/_gust/events/news`, {
      method: 'POST',
      headers: { authorization: `Bearer ${k.key}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', id: 'x1', source: '/t', type: 't.x', data: {} }),
    });
    expect(cloudEvent.status).toBe(403);
    // an invoke key for every function may
    const any = await newKey('invoke');
    expect((await api(g, 'POST', '/topics/news/publish', { data: {} }, any.key)).status).toBe(202);
  });
});

describe('a key with a rate limit', () => {
  it('serves its burst, then answers 429 RATE_LIMITED with Retry-After, while other keys go on', async () => {
    const limited = await cli(g, ['keys', 'create', '--scope', 'invoke', '--rate', '3/m', '--json']);
    expect(limited.code).toBe(0);
    const { key, rate, burst } = JSON.parse(limited.stdout) as { key: string; rate: number; burst: number };
    expect([rate, burst]).toEqual([0.05, 3]);
    const call = (k: string) => fetch(`${g.url}/guarded`, { headers: { authorization: `Bearer ${k}` } });
    // 3 a minute: 3 at once, then one every 20 s
    for (let i = 0; i < 3; i++) expect((await call(key)).status).toBe(200);
    const refused = await call(key);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(19);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    // an unlimited key is untouched
    const other = await newKey('invoke');
    for (let i = 0; i < 5; i++) expect((await call(other.key)).status).toBe(200);
    const ls = await cli(g, ['keys', 'ls']);
    expect(ls.stdout).toMatch(/\s3 requests a minute\s/);
  });

  it('refuses a rate that is not one, as a usage error', async () => {
    const bad = await cli(g, ['keys', 'create', '--scope', 'invoke', '--rate', 'fast']);
    expect(bad.code).toBe(2);
    const api400 = await api(g, 'POST', '/keys', { scope: 'invoke', rate: '0/s' });
    expect(api400.status).toBe(400);
  });
});
