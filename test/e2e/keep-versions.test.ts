/**
 * --keep-versions (GUST_KEEP_VERSIONS): past the bound, a deploy removes a function's oldest
 * versions with their bundle files, never the active one nor the one before it, never a bundle
 * another version uses; asking for a removed version says the setting removed it.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, cli, type Gust, invoke, startGust } from '../helpers/gust.js';

const KEEP = 3;
const MANIFEST = 'functions:\n  a:\n    handler: a.mjs\n  b:\n    handler: b.mjs\n';

/** A bundle that answers `n`: each n a bundle of its own. */
const code = (n: number) => `export const handler = async () => ${n};\n`;

describe('versions kept per function', () => {
  let g: Gust;
  let firstCall: string;

  async function deployA(n: number, b = code(0)): Promise<void> {
    const r = await api(g, 'POST', '/deploy', { manifest: MANIFEST, bundles: { a: code(n), b } });
    expect(r.status).toBe(200);
  }

  const bundleFiles = async () => (await readdir(path.join(g.dataDir, 'bundles'))).sort();

  beforeAll(async () => {
    g = await startGust({ env: { GUST_KEEP_VERSIONS: String(KEEP) } });
    await deployA(1, code(1)); // b's code is a's v1's: one bundle file for both
    firstCall = (await invoke(g, 'a')).body.invocation.id;
    for (let n = 2; n <= 6; n++) await deployA(n, code(1));
  });

  afterAll(async () => {
    await g?.stop();
  });

  it('keeps the newest versions and removes the bundles only they used, not one another version shares', async () => {
    const versions = await api<{ versions: { version: number }[] }>(g, 'GET', '/functions/a/versions');
    expect(versions.body.versions.map((v) => v.version)).toEqual([4, 5, 6]);
    // a v4..v6, and b's v1 (a v1's code)
    expect(await bundleFiles()).toHaveLength(KEEP + 1);
    expect((await invoke(g, 'b')).body.result).toBe(1);
  });

  it('rolling back to a removed version says the setting removed it', async () => {
    const r = await cli(g, ['rollback', 'a', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `gust: a v2 was removed: this platform keeps the last ${KEEP} versions of a function (--keep-versions, GUST_KEEP_VERSIONS); gust versions a lists those kept\n`,
    );
  });

  it('replay --version and the Lambda Qualifier of a removed version say so too', async () => {
    const replay = await api<{ error: { message: string } }>(g, 'POST', `/invocations/${firstCall}/replay`, {
      version: 1,
    });
    expect(replay.status).toBe(404);
    expect(replay.body.error.message).toMatch(/^a v1 was removed: this platform keeps the last 3 versions/);
    const res = await fetch(`${g.url}/2015-03-31/functions/a/invocations?Qualifier=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${g.key}` },
      body: '{}',
    });
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('a v1 was removed: this platform keeps the last 3 versions');
  });

  it('a setting under 2 is refused with what it must be', async () => {
    const r = await cli(undefined, ['up', '--keep-versions', '1', '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'gust: --keep-versions "1": a whole number of versions per function, at least 2 (the active one and the one before)\n',
    );
  });
});
