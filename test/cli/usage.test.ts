import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedUrl, gust } from './helpers.js';

let tmp: string;
let nowhere: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'gust-cli-'));
  nowhere = await closedUrl();
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Exactly one line on stderr, starting `gust: `. */
function expectOneErrorLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^gust: /);
  return lines[0]!;
}

describe('usage errors', () => {
  it.each([
    [['ls', '--jsn'], /unknown option '--jsn'.*--json/],
    [['bogus'], /unknown command 'bogus'/],
    [['invoke'], /missing required argument 'name'.*gust invoke --help/],
    [['ls', 'extra'], /too many arguments/],
    [['rollback', 'api', 'x'], /version number/],
    [['invocations', 'api', '--limit', '0'], /whole number/],
    [['invocations', 'api', '--status', 'weird'], /Allowed choices/],
    [['keys', 'create'], /required option '--scope <scope>'/],
    [['keys', 'create', '--scope', 'root'], /admin, deploy, invoke, storage/],
    [['up', '--port', 'eighty'], /invalid setting port/],
  ])('gust %j exits 2 with one line that says what is wrong', async (args, message) => {
    const { code, stderr, stdout } = await gust(args, { env: { GUST_URL: nowhere } });
    expect(code).toBe(2);
    expect(expectOneErrorLine(stderr)).toMatch(message);
    expect(stdout).toBe('');
  });

  it('invoke with --data that is not JSON is a usage error that says so', async () => {
    const { code, stderr } = await gust(['invoke', 'api', '--data', '{nope'], { env: { GUST_URL: nowhere } });
    expect(code).toBe(2);
    expect(expectOneErrorLine(stderr)).toMatch(/^gust: --data value is not valid JSON/);
  });

  it('invoke with --data @file that holds no JSON names the file', async () => {
    await writeFile(path.join(tmp, 'event.txt'), 'hello');
    const { code, stderr } = await gust(['invoke', 'api', '--data', '@event.txt'], {
      cwd: tmp,
      env: { GUST_URL: nowhere },
    });
    expect(code).toBe(2);
    expect(expectOneErrorLine(stderr)).toMatch(/^gust: --data @event.txt is not valid JSON/);
  });

  it('invoke with --data @missing.json fails clearly before contacting the platform', async () => {
    const { code, stderr } = await gust(['invoke', 'api', '--data', '@missing.json'], {
      cwd: tmp,
      env: { GUST_URL: nowhere },
    });
    expect(code).toBe(2);
    expect(expectOneErrorLine(stderr)).toBe(
      'gust: --data @missing.json: cannot read missing.json: no such file',
    );
  });

  it('help and version exit 0 on stdout', async () => {
    const help = await gust(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/deploy \[options\] \[dir\]/);
    const version = await gust(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('failures', () => {
  it('an unreachable platform gives one line naming the URL, and exit 1', async () => {
    const { code, stderr } = await gust(['ls'], { env: { GUST_URL: nowhere } });
    expect(code).toBe(1);
    expect(expectOneErrorLine(stderr)).toBe(
      `gust: cannot reach Gust at ${nowhere} (is \`gust up\` running? set GUST_URL)`,
    );
  });

  it('GUST_URL that is not a URL is reported as such', async () => {
    const { code, stderr } = await gust(['ls'], { env: { GUST_URL: 'not a url' } });
    expect(code).toBe(2);
    expect(expectOneErrorLine(stderr)).toMatch(/GUST_URL "not a url" is not a URL/);
  });

  it.each([
    ['dev'],
    ['replay', 'inv_1'],
    ['publish', 'orders', '--data', '{}'],
    ['usage'],
    ['secrets', 'ls'],
    ['kv', 'get', 'ns', 'k'],
  ])('gust %j exists but says it is not supported yet, exit 1', async (...args) => {
    const { code, stderr } = await gust(args);
    expect(code).toBe(1);
    expect(stderr).toBe(`gust ${args[0]}: not supported yet by this version of Gust\n`);
  });

  it('up --cluster says cluster mode is not supported yet, exit 1', async () => {
    const { code, stderr } = await gust(['up', '--cluster', '--data', path.join(tmp, 'data')]);
    expect(code).toBe(1);
    expect(expectOneErrorLine(stderr)).toMatch(/cluster mode is not supported yet/);
  });
});

describe('deploy without a valid manifest', () => {
  it('lists every manifest error and exits 1 without contacting the platform', async () => {
    const dir = path.join(tmp, 'bad-manifest');
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, 'gust.yaml'),
      ['functions:', '  Bad_Name:', '    handler: src/a.ts', '  ok:', '    memory: lots', ''].join('\n'),
    );
    const { code, stderr, stdout } = await gust(['deploy', dir], { env: { GUST_URL: nowhere } });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^gust: .*gust\.yaml has \d+ errors:$/);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(stderr).toMatch(/Bad_Name/);
    expect(stderr).toMatch(/functions\.ok\.handler/);
    expect(stderr).toMatch(/functions\.ok\.memory/);
    expect(stderr).not.toMatch(/cannot reach/);
  });

  it('names the folder when it holds no gust.yaml', async () => {
    const { code, stderr } = await gust(['deploy', tmp], { env: { GUST_URL: nowhere } });
    expect(code).toBe(1);
    expect(expectOneErrorLine(stderr)).toMatch(/no manifest in/);
  });

  it('lists every bundling error and exits 1 without contacting the platform', async () => {
    const dir = path.join(tmp, 'bad-handlers');
    await mkdir(path.join(dir, 'src'), { recursive: true });
    await writeFile(
      path.join(dir, 'gust.yaml'),
      'functions:\n  api:\n    handler: src/api.ts\n  gone:\n    handler: src/gone.ts\n',
    );
    await writeFile(
      path.join(dir, 'src/api.ts'),
      'import pad from "left-padd";\nexport default () => pad;\n',
    );
    const { code, stderr } = await gust(['deploy', dir], { env: { GUST_URL: nowhere } });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^bundling 2 functions…\n/);
    expect(stderr).toContain('gust: handlers could not be bundled; nothing was deployed\n');
    expect(stderr).toContain('  functions.api.handler: src/api.ts:1:17: Could not resolve "left-padd"\n');
    expect(stderr).toContain('  functions.gone.handler: src/gone.ts: file not found');
    expect(stderr).not.toMatch(/uploading|cannot reach/);
  });
});
