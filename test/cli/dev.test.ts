/**
 * `gust dev` run as a user runs it: a real process on a real project folder, saves made by writing
 * its files, the function called over HTTP, and the process stopped with SIGINT (Ctrl-C).
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gust, livePids, startGust, tempDir, writeProject } from '../helpers/gust.js';
import { type Running, runGust } from '../helpers/running.js';
import { gust } from './helpers.js';

const MANIFEST =
  'functions:\n  hello:\n    handler: hello.mjs\n    triggers:\n      - http: { path: /hello }\n';

/** A handler that logs a line and answers `text`. */
function handler(text: string): string {
  return `export default async () => {\n  console.log('said ${text}');\n  return new Response('${text}');\n};\n`;
}

async function text(url: string): Promise<string> {
  return (await fetch(url)).text();
}

/** No terminal here: stdout and stderr are pipes, so neither colours nor progress lines. */
function expectPlain(output: string): void {
  expect(output).not.toContain('\x1b[');
  expect(output).not.toMatch(/bundling|uploading/);
}

describe('gust dev with a platform of its own', () => {
  let dir: string;
  let dataDir: string;
  let dev: Running;
  let url: string;

  beforeAll(async () => {
    dir = await writeProject({ 'gust.yaml': MANIFEST, 'hello.mjs': handler('one') });
    dataDir = await tempDir('gust-data-');
    dev = runGust(['dev', '--port', '0', '--s3-port', '0', '--data', dataDir], { cwd: dir });
    url = (await dev.waitFor('stdout', /listening on (http:\/\/\S+)/))[1]!;
  });

  afterAll(async () => {
    await dev?.stop('SIGKILL');
  });

  it('starts Gust, says so, and deploys the folder', async () => {
    await dev.waitFor('stderr', /^✓ hello v1 live in \d+ ms$/m);
    expect(dev.stderr()).toMatch(/^started Gust on http:\/\/\S+ for gust dev; Ctrl-C stops it$/m);
    expect(await text(`${url}/hello`)).toBe('one');
  });

  it('a saved change goes live: the function answers the new text', async () => {
    const from = dev.stderr().length;
    await writeFile(path.join(dir, 'hello.mjs'), handler('two'));
    await dev.waitFor('stderr', /^✓ hello v2 live in \d+ ms$/m, from);
    expect(await text(`${url}/hello`)).toBe('two');
  });

  it("an invocation's logs and outcome appear under the function's name", async () => {
    const from = dev.stdout().length;
    const res = await fetch(`${url}/hello`);
    const id = res.headers.get('x-gust-invocation-id');
    expect(await res.text()).toBe('two');
    // its lines, then how it ended, one after the other
    await dev.waitFor(
      'stdout',
      new RegExp(`^hello  \\S+\tINFO\tsaid two\nhello  ok \\S+ ms · v2 · ${id}$`, 'm'),
      from,
    );
  });

  it('a syntax error is said with file, line and column; the live version keeps answering', async () => {
    const from = dev.stderr().length;
    await writeFile(path.join(dir, 'hello.mjs'), 'export default (\n');
    await dev.waitFor(
      'stderr',
      /^✗ functions\.hello\.handler: hello\.mjs:2:1: Unexpected end of file$/m,
      from,
    );
    expect(await text(`${url}/hello`)).toBe('two');
  });

  it('an invalid gust.yaml is said by key path, and the next good save goes live', async () => {
    let from = dev.stderr().length;
    await writeFile(path.join(dir, 'gust.yaml'), `${MANIFEST}    memory: 1\n`);
    await dev.waitFor('stderr', /^✗ gust\.yaml: functions\.hello\.memory: .*\(got 1\)$/m, from);
    from = dev.stderr().length;
    await writeFile(path.join(dir, 'hello.mjs'), handler('three'));
    await dev.waitFor('stderr', /^✗ gust\.yaml: functions\.hello\.memory/m, from);
    expect(await text(`${url}/hello`)).toBe('two');
    from = dev.stderr().length;
    await writeFile(path.join(dir, 'gust.yaml'), MANIFEST);
    await dev.waitFor('stderr', /^✓ hello v3 live in \d+ ms$/m, from);
    expect(await text(`${url}/hello`)).toBe('three');
    expectPlain(dev.stdout() + dev.stderr());
  });

  it('a folder made after it started is watched: a handler moved there goes live, and so do its saves', async () => {
    await mkdir(path.join(dir, 'lib'));
    await writeFile(path.join(dir, 'lib/hello.mjs'), handler('four'));
    let from = dev.stderr().length;
    await writeFile(path.join(dir, 'gust.yaml'), MANIFEST.replace('hello.mjs', 'lib/hello.mjs'));
    await dev.waitFor('stderr', /^✓ hello v4 live in \d+ ms$/m, from);
    expect(await text(`${url}/hello`)).toBe('four');
    from = dev.stderr().length;
    await writeFile(path.join(dir, 'lib/hello.mjs'), handler('five'));
    await dev.waitFor('stderr', /^✓ hello v5 live in \d+ ms$/m, from);
    expect(await text(`${url}/hello`)).toBe('five');
  });

  it('a save that sets a budget under what this month used warns, under its line, that calls are refused', async () => {
    const from = dev.stderr().length;
    const manifest = `${MANIFEST.replace('hello.mjs', 'lib/hello.mjs')}    budget: { gbSeconds: 0.0001 }\n`;
    await writeFile(path.join(dir, 'gust.yaml'), manifest);
    await dev.waitFor(
      'stderr',
      /^✓ hello v6 live in \d+ ms\n {2}warning: hello v6's budget is 0\.0001 GB-s and [\d.]+ GB-s were used this month: its calls will be refused until \d{4}-\d{2}-01; deploy a higher budget\.gbSeconds or roll back to v5 \(gust rollback hello 5\)$/m,
      from,
    );
    expect((await fetch(`${url}/hello`)).status).toBe(429);
  });

  it('Ctrl-C stops the platform it started: nothing listens and no process is left', async () => {
    expect(await dev.stop('SIGINT')).toBe(0);
    expect(dev.stderr()).toMatch(/^SIGINT: stopping Gust… \(again to force\)$/m);
    await expect(fetch(`${url}/_gust/healthz`)).rejects.toThrow();
    expect(existsSync(path.join(dataDir, 'gust.pid'))).toBe(false);
    expect(await livePids(`gust-run-${dev.pid}-`)).toEqual([]);
  });
});

describe('gust dev attached to a running platform', () => {
  let g: Gust;

  beforeAll(async () => {
    g = await startGust();
  });

  afterAll(async () => {
    await g?.stop();
  });

  it('attaches to the Gust running on the data folder, deploys to it, and Ctrl-C leaves it running', async () => {
    const dir = await writeProject({ 'gust.yaml': MANIFEST, 'hello.mjs': handler('attached') });
    const dev = runGust(['dev', dir, '--data', g.dataDir]);
    await dev.waitFor('stderr', /^✓ hello v\d+ live in \d+ ms$/m);
    expect(dev.stderr()).toContain(
      `attached to Gust at ${g.url} (pid ${g.proc.pid}, data in ${g.dataDir}); it keeps running when gust dev stops`,
    );
    expect(await text(`${g.url}/hello`)).toBe('attached');
    expect(await dev.stop('SIGINT')).toBe(0);
    // it stops at once: no second Ctrl-C to force anything
    expect(dev.stderr()).toMatch(
      new RegExp(`^SIGINT: gust dev stopped; Gust at ${g.url} keeps running$`, 'm'),
    );
    expect((await fetch(`${g.url}/_gust/healthz`)).status).toBe(200);
    expect(await text(`${g.url}/hello`)).toBe('attached');
  });

  it('attaches to the Gust that GUST_URL names', async () => {
    const dir = await writeProject({ 'gust.yaml': MANIFEST, 'hello.mjs': handler('by url') });
    const dev = runGust(['dev', dir], { env: { GUST_URL: g.url, GUST_API_KEY: g.key } });
    await dev.waitFor('stderr', /^✓ hello v\d+ live in \d+ ms$/m);
    expect(dev.stderr()).toContain(`attached to Gust at ${g.url} (GUST_URL)`);
    expect(await text(`${g.url}/hello`)).toBe('by url');
    expect(await dev.stop('SIGINT')).toBe(0);
    expect((await fetch(`${g.url}/_gust/healthz`)).status).toBe(200);
  });

  it('attaches to the Gust answering on its port though it runs on another data folder (the README tour)', async () => {
    const dir = await writeProject({ 'gust.yaml': MANIFEST, 'hello.mjs': handler('on port') });
    const port = new URL(g.url).port;
    const dev = runGust(['dev', '--port', port], { cwd: dir });
    await dev.waitFor('stderr', /^✓ hello v\d+ live in \d+ ms$/m);
    expect(dev.stderr()).toContain(
      `attached to Gust at ${g.url} (data in ${g.dataDir}), which answers on port ${port}; it keeps running when gust dev stops`,
    );
    expect(await text(`${g.url}/hello`)).toBe('on port');
    expect(await dev.stop('SIGINT')).toBe(0);
    expect(existsSync(path.join(dir, '.gust'))).toBe(false);
  });

  it('a Gust on its port whose key it cannot find is said, with how to attach', async () => {
    const dir = await writeProject({ 'gust.yaml': MANIFEST, 'hello.mjs': handler('x') });
    const elsewhere = await tempDir('gust-config-');
    const port = new URL(g.url).port;
    const r = await gust(['dev', '--port', port], { cwd: dir, env: { XDG_CONFIG_HOME: elsewhere } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `gust: a Gust already runs on port ${port} (${g.url}), with another data folder than ${path.join(dir, '.gust')}: attach to it with --data ITS_DATA_FOLDER, or GUST_URL=${g.url} GUST_API_KEY=KEY; or start another with --port\n`,
    );
  });

  it('with GUST_URL, --data gives the key; flags for starting a platform are said to be ignored', async () => {
    const dir = await writeProject({ 'gust.yaml': MANIFEST, 'hello.mjs': handler('data key') });
    const dev = runGust(['dev', '--data', g.dataDir, '--port', '18185'], {
      cwd: dir,
      env: { GUST_URL: g.url },
    });
    await dev.waitFor('stderr', /^✓ hello v\d+ live in \d+ ms$/m);
    expect(dev.stderr()).toContain(
      'ignored: --port (for a platform gust dev starts; this one runs with its own settings)',
    );
    expect(await text(`${g.url}/hello`)).toBe('data key');
    expect(await dev.stop('SIGINT')).toBe(0);
  });

  it('a platform it starts does not replace the recorded one while that one runs', async () => {
    const dir = await writeProject({ 'gust.yaml': MANIFEST, 'hello.mjs': handler('second') });
    const dataDir = await tempDir('gust-data-');
    const dev = runGust(['dev', '--port', '0', '--s3-port', '0', '--data', dataDir], { cwd: dir });
    const url = (await dev.waitFor('stdout', /listening on (http:\/\/\S+)/))[1]!;
    await dev.waitFor('stderr', /^✓ hello v1 live in \d+ ms$/m);
    expect(dev.stderr()).toContain(
      `not recorded as the local platform: gust commands keep going to the Gust at ${g.url} (pid ${g.proc.pid}); reach this one with GUST_URL=${url} GUST_DATA_DIR=${dataDir}`,
    );
    expect(await dev.stop('SIGINT')).toBe(0);
    const ls = await gust(['ls']);
    expect(ls.stderr).toBe('');
    expect(ls.code).toBe(0);
  });

  it('refuses a Gust running on the data folder whose URL was not recorded', async () => {
    const dir = await writeProject({ 'gust.yaml': MANIFEST, 'hello.mjs': handler('x') });
    const elsewhere = await tempDir('gust-config-');
    const r = await gust(['dev', dir, '--data', g.dataDir], { env: { XDG_CONFIG_HOME: elsewhere } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `gust: a Gust (pid ${g.proc.pid}) is running on ${g.dataDir}, but its URL was not recorded: set GUST_URL to it to attach, or pass another --data to start one\n`,
    );
  });
});

describe('gust dev refuses what it cannot watch', () => {
  it('a folder that does not exist is a usage error, for gust deploy too', async () => {
    for (const command of ['dev', 'deploy']) {
      const r = await gust([command, '/no/such/folder']);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `gust: there is no folder /no/such/folder: gust ${command} takes the folder that holds gust.yaml (default: this one)\n`,
      );
    }
  });

  it('a file is said to be a file, not a folder', async () => {
    const dir = await writeProject({ 'gust.yaml': MANIFEST, 'hello.mjs': handler('x') });
    const r = await gust(['dev', 'hello.mjs'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'gust: hello.mjs is a file, not a folder: gust dev takes the folder that holds gust.yaml (default: this one)\n',
    );
  });

  it('a folder without gust.yaml is said before any platform starts', async () => {
    const dir = await tempDir('gust-empty-');
    const r = await gust(['dev', dir, '--data', path.join(dir, 'data')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `gust: no manifest in ${dir} (looked for gust.yaml and gust.yml): gust dev watches the folder of a gust.yaml\n`,
    );
    expect(existsSync(path.join(dir, 'data'))).toBe(false);
  });
});
