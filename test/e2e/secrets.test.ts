/** Secrets end to end: set from stdin, sealed at rest, given only to the functions that declare them, masked in records. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gust } from '../cli/helpers.js';
import { api, cli, deploy, type Gust, invoke, records, startGust, writeProject } from '../helpers/gust.js';

let g: Gust;
const VALUE = 'sk_live_51Hsecretvalue';
const ROTATED = 'sk_live_51Hrotatedvalue';

/** `gust secrets set NAME` with the value on standard input, as a script would. */
const setSecret = (name: string, value: string, json = false) =>
  gust(['secrets', 'set', name, ...(json ? ['--json'] : [])], {
    env: { GUST_URL: g.url, GUST_API_KEY: g.key },
    input: `${value}\n`,
  });

const HANDLER = `
export const handler = async (_event, ctx) => {
  console.log('the key is ' + process.env.STRIPE_KEY);
  return { seen: process.env.STRIPE_KEY ?? null, inCtx: ctx.env.STRIPE_KEY ?? null };
};
`;

function project(secrets: string[], extra = '') {
  return writeProject(
    {
      'gust.yaml': `functions:\n  billing:\n    handler: b.mjs#handler\n    secrets: [${secrets.join(', ')}]\n${extra}  plain:\n    handler: b.mjs#handler\n`,
      'b.mjs': HANDLER,
    },
    'billing',
  );
}

beforeAll(async () => {
  g = await startGust();
});

afterAll(async () => {
  await g?.stop();
});

describe('secrets', () => {
  it('refuse a deploy that names a secret that does not exist, by name', async () => {
    const r = await cli(g, ['deploy', await project(['STRIPE_KEY'])]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'functions.billing.secrets[0]: no secret STRIPE_KEY: set it first with gust secrets set STRIPE_KEY',
    );
  });

  it('are set from standard input, listed without their value, and sealed in the data folder', async () => {
    const set = await setSecret('STRIPE_KEY', VALUE);
    expect(set.code).toBe(0);
    expect(set.stdout).toBe('set STRIPE_KEY (no deployed function uses it yet)\n');
    const ls = await cli(g, ['secrets', 'ls']);
    expect(ls.stdout).toMatch(/^STRIPE_KEY\s+\d{4}-\d\d-\d\d \S+\s+-$/m);
    const listed = await api(g, 'GET', '/secrets');
    expect(JSON.stringify(listed.body)).not.toContain(VALUE);
    for (const file of ['gust.db', 'gust.db-wal']) {
      const bytes = await readFile(path.join(g.dataDir, file)).catch(() => Buffer.alloc(0));
      expect(bytes.includes(VALUE)).toBe(false);
    }
  });

  it('reach only the functions that declare them, in process.env, and are masked in their records', async () => {
    await deploy(g, await project(['STRIPE_KEY']));
    const billing = await invoke(g, 'billing', {});
    expect(billing.body.result).toEqual({ seen: VALUE, inCtx: VALUE });
    const plain = await invoke(g, 'plain', {});
    expect(plain.body.result).toMatchObject({ seen: null });
    const [record] = await records(g, 'billing', 1);
    expect(record!.logs).toContain('the key is ***');
    expect(record!.logs).not.toContain(VALUE);
    expect((await cli(g, ['secrets', 'ls'])).stdout).toMatch(/^STRIPE_KEY\s+.*\s+billing$/m);
  });

  it('changed, reach the instances started after the change, and the CLI says so', async () => {
    const changed = await setSecret('STRIPE_KEY', ROTATED);
    expect(changed.stdout).toContain(
      'changed STRIPE_KEY: billing get the new value in instances started from now on',
    );
    // the warm instance keeps the value it started with, and its records still mask it
    expect((await invoke(g, 'billing', {})).body.result).toMatchObject({ seen: VALUE });
    const [warm] = await records(g, 'billing', 1);
    expect(warm!.logs).toContain('the key is ***');
    expect(warm!.logs).not.toContain(VALUE);
    // a new version starts new instances, which get the new value
    await deploy(g, await project(['STRIPE_KEY'], '    memory: 192\n'));
    expect((await invoke(g, 'billing', {})).body.result).toMatchObject({ seen: ROTATED });
  });

  it('cannot be removed while a function uses them, and are gone once removed', async () => {
    const refused = await cli(g, ['secrets', 'rm', 'STRIPE_KEY']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('STRIPE_KEY is used by billing');
    expect((await cli(g, ['rm', 'billing', '--yes'])).code).toBe(0);
    expect((await cli(g, ['secrets', 'rm', 'STRIPE_KEY'])).stdout).toBe('removed STRIPE_KEY\n');
    expect((await cli(g, ['secrets', 'ls'])).stdout).toContain('no secrets');
    expect((await cli(g, ['secrets', 'rm', 'STRIPE_KEY'])).code).toBe(1);
  });

  it('refuse bad names and empty values with clear errors, and need an admin key', async () => {
    const bad = await setSecret('not-a-name', 'x');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('secret names are letters, digits and _');
    const empty = await gust(['secrets', 'set', 'EMPTY'], {
      env: { GUST_URL: g.url, GUST_API_KEY: g.key },
      input: '',
    });
    expect(empty.code).toBe(2);
    const deployKey = (await api<{ key: string }>(g, 'POST', '/keys', { scope: 'deploy' })).body.key;
    const forbidden = await api(g, 'GET', '/secrets', undefined, deployKey);
    expect(forbidden.status).toBe(403);
  });
});
