import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedUrl, gust, jsonError, notGust } from './helpers.js';

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
    [['rollback', 'api', 'x'], /^gust: version x: expected a version number/],
    [['replay'], /missing required argument 'invocation-id'.*gust replay --help/],
    [['replay', 'inv_1', '--version', 'two'], /^gust: --version two: expected a version number/],
    [['invocations', 'api', '--limit', '0'], /^gust: --limit 0: expected a whole number/],
    [
      ['invocations', 'api', '--trigger', 'bogus'],
      /^gust: --trigger bogus is not a choice: use http, invoke, lambda-api, schedule, topic, webhook, kv, bucket, postgres, stream or replay/,
    ],
    [
      ['invocations', 'api', '--since', 'yesterday'],
      /^gust: --since yesterday: expected a duration back from now, such as 30m/,
    ],
    [['invocations', 'api', '--since', '2026-13-45'], /^gust: --since 2026-13-45: expected a duration/],
    [
      ['invocations', 'api', '--since', '2099-01-01'],
      /^gust: --since 2099-01-01: that is in the future: give a time/,
    ],
    [['logs', 'api', '--limit', '0'], /^gust: --limit 0: expected a whole number from 1 to 1000/],
    [['logs', 'api', '--limit', '1001'], /^gust: --limit 1001: expected a whole number from 1 to 1000/],
    [
      ['keys', 'create', '--scope', 'deploy', '--function', 'price'],
      /^gust: --function limits invoke keys only: a deploy key covers every function/,
    ],
    [
      ['invocations', 'api', '--status', 'weird'],
      /^gust: --status weird is not a choice: use ok, failed, error/,
    ],
    [['keys', 'create'], /^gust: --scope is required: admin, deploy, invoke, storage or metrics \(see/],
    [
      ['keys', 'create', '--scope'],
      /^gust: --scope needs a value: admin, deploy, invoke, storage or metrics \(see/,
    ],
    [
      ['keys', 'create', '--scope', 'root'],
      /^gust: --scope root is not a choice: use admin, deploy, invoke, storage or metrics/,
    ],
    [
      ['keys', 'create', '--scope', ''],
      /^gust: --scope "" is not a choice: use admin, deploy, invoke, storage or metrics/,
    ],
    [
      ['keys', 'create', '--scope', 'admin', '--expires', '0d'],
      /^gust: --expires 0d: expected a duration from 1m/,
    ],
    [
      ['keys', 'create', '--scope', 'admin', '--expires', 'forever'],
      /^gust: --expires forever: expected a duration/,
    ],
    [['up', '--port', 'abc'], /^gust: --port "abc": a port is a whole number from 0 to 65535/],
    [['up', '--port', '70000'], /^gust: --port "70000": a port is a whole number/],
    [['up', '--retention', 'forever'], /^gust: --retention "forever": a duration from 1m to 3650d/],
    [['up', '--failed-retention', '10s'], /^gust: --failed-retention "10s": a duration from 1m/],
    [
      ['up', '--max-records-size', '12 parsecs'],
      /^gust: --max-records-size "12 parsecs": a size of at least 1MB/,
    ],
    [['up', '--max-records-size', '10KB'], /^gust: --max-records-size "10KB": a size of at least 1MB/],
    [
      ['invoke', 'api', '--method', 'PUT'],
      /^gust: --method goes with --path \(an HTTP request to one of its routes\); an event takes only --header traceparent/,
    ],
    [
      ['invoke', 'api', '--path', '/x', '--header', 'no-colon'],
      /^gust: --header no-colon: expected NAME:VALUE/,
    ],
    [['invoke', 'api', '--path', 'price/1'], /^gust: --path price\/1: a path starts with \//],
    [['invoke', 'api', '--path', '/x', '--method', 'TRACE'], /^gust: --method TRACE: use GET, HEAD, POST/],
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

  it('publish with --data nested too deep is a usage error that says so, not a lost platform', async () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const { code, stderr } = await gust(['publish', 'news', '--data', '-'], {
      env: { GUST_URL: nowhere },
      input: deep,
    });
    expect(code).toBe(2);
    expect(expectOneErrorLine(stderr)).toBe(
      'gust: --data - (standard input) nests arrays and objects over 1000 deep; Gust takes 1000 at most',
    );
  });

  it('invoke with --data - that is not JSON on standard input is a usage error too', async () => {
    const { code, stderr } = await gust(['invoke', 'api', '--data', '-'], {
      env: { GUST_URL: nowhere },
      input: '{"a": 1',
    });
    expect(code).toBe(2);
    expect(expectOneErrorLine(stderr)).toMatch(/^gust: --data - \(standard input\) is not valid JSON/);
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
      `gust: cannot reach Gust at ${nowhere} (from GUST_URL or GUST_PORT): is it running there?`,
    );
  });

  it('GUST_URL that is not a URL is reported as such, exit 2', async () => {
    const { code, stderr } = await gust(['ls'], { env: { GUST_URL: 'not a url' } });
    expect(code).toBe(2);
    expect(expectOneErrorLine(stderr)).toMatch(/GUST_URL "not a url" is not an http\(s\) URL/);
  });

  it('a server that is not Gust is named as such, exit 1', async () => {
    const web = await notGust(200);
    try {
      const { code, stderr } = await gust(['ls'], { env: { GUST_URL: web.url } });
      expect(code).toBe(1);
      expect(expectOneErrorLine(stderr)).toBe(
        `gust: ${web.url} answered 200 OK to GET /_gust/api/v1/functions, not as Gust does (does GUST_URL point at Gust?)`,
      );
    } finally {
      await web.close();
    }
  });

  it('up --cluster says cluster mode is not supported yet, exit 1', async () => {
    const { code, stderr } = await gust(['up', '--cluster', '--data', path.join(tmp, 'data')]);
    expect(code).toBe(1);
    expect(expectOneErrorLine(stderr)).toMatch(/cluster mode is not supported yet/);
  });
});

describe('--json errors', () => {
  /** The same command with and without --json: the same exit code, and the JSON says the same. */
  async function both(args: string[], env: Record<string, string>) {
    const text = await gust(args, { env });
    const json = await gust([...args, '--json'], { env });
    expect(json.code).toBe(text.code);
    expect(json.stdout).toBe('');
    const error = jsonError(json.stderr);
    expect(`gust: ${error.message}`).toBe(text.stderr.trimEnd());
    return { code: json.code, error };
  }

  it("a usage error of commander's own is JSON, code USAGE, exit 2", async () => {
    const { code, error } = await both(['keys', 'create', '--scope', 'bogus'], { GUST_URL: nowhere });
    expect(code).toBe(2);
    expect(error.code).toBe('USAGE');
  });

  it('a usage error found by the CLI is JSON, code USAGE, exit 2', async () => {
    const { code, error } = await both(['invoke', 'api', '--data', '{nope'], { GUST_URL: nowhere });
    expect(code).toBe(2);
    expect(error).toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/^--data value is not valid JSON/),
    });
  });

  it('an unreachable platform is JSON, code UNREACHABLE, exit 1', async () => {
    const { code, error } = await both(['ls'], { GUST_URL: nowhere });
    expect(code).toBe(1);
    expect(error.code).toBe('UNREACHABLE');
  });

  it('a server that is not Gust is JSON, code NOT_GUST, exit 1', async () => {
    const web = await notGust(404);
    try {
      const { code, error } = await both(['ls'], { GUST_URL: web.url });
      expect(code).toBe(1);
      expect(error.code).toBe('NOT_GUST');
    } finally {
      await web.close();
    }
  });

  it('a bad manifest and a handler that does not bundle are JSON with the codes the API would give', async () => {
    const dir = path.join(tmp, 'json-deploy');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'gust.yaml'), 'functions:\n  a:\n    handler: a.mjs\n    memory: 1\n');
    const invalid = await gust(['deploy', dir, '--json'], { env: { GUST_URL: nowhere } });
    expect(invalid.code).toBe(1);
    expect(jsonError(invalid.stderr)).toMatchObject({
      code: 'MANIFEST_INVALID',
      message: expect.stringMatching(/functions\.a\.memory/),
    });
    await writeFile(path.join(dir, 'gust.yaml'), 'functions:\n  a:\n    handler: a.mjs\n');
    await writeFile(path.join(dir, 'a.mjs'), 'export default (;\n');
    const broken = await gust(['deploy', dir, '--json'], { env: { GUST_URL: nowhere } });
    expect(broken.code).toBe(1);
    expect(jsonError(broken.stderr).code).toBe('BUILD_FAILED');
  });

  it('a setting that makes no sense is JSON, code CONFIG_INVALID, exit 2', async () => {
    const { code, error } = await both(['ls'], { GUST_PORT: 'http' });
    expect(code).toBe(2);
    expect(error).toEqual({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/^GUST_PORT="http": a port/),
    });
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
    // stderr is a pipe here: no progress, only the error
    expect(stderr.startsWith('gust: handlers could not be bundled; nothing was deployed\n')).toBe(true);
    expect(stderr).toContain('  functions.api.handler: src/api.ts:1:17: Could not resolve "left-padd"\n');
    expect(stderr).toContain('  functions.gone.handler: src/gone.ts: file not found');
    expect(stderr).not.toMatch(/bundling|uploading|cannot reach/);
  });
});
