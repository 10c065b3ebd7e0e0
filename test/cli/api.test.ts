/**
 * The CLI against a stand-in control API that answers as docs/API.md says: what it sends, what it
 * prints, how it reports the API's errors. The real platform is exercised in e2e.test.ts.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, type FakeApi, fakeApi, gust, ROOT } from './helpers.js';

const summary = {
  name: 'api',
  project: 'shop',
  version: 3,
  runtime: 'node',
  memoryMb: 128,
  timeoutMs: 3000,
  concurrency: 1,
  scale: { min: 0, max: 10, idleMs: 60000 },
  routes: ['GET /items/:id'],
  instances: 1,
  updatedAt: '2025-01-01T00:00:00.000Z',
};

const invocation = {
  id: 'inv_1',
  function: 'api',
  version: 3,
  trigger: 'invoke',
  instance: 'i1',
  start: '2025-01-01T00:00:00.000Z',
  durationMs: 12,
  billedMs: 12,
  memoryMb: 128,
  gbSeconds: 0.0015,
  cold: true,
  initMs: 40,
  status: 'ok',
  error: null,
  logs: 'hello from api\n',
  traceId: 't1',
};

const answers: Record<string, Answer> = {
  'GET /functions': { body: { functions: [summary] } },
  'POST /deploy': {
    body: {
      project: 'project',
      functions: [
        { name: 'api', version: 3, changed: true },
        { name: 'cron', version: 2, changed: false },
      ],
      removed: [],
      leftRunning: ['old'],
    },
  },
  'POST /functions/api/invoke': { body: { invocation, result: { sum: 3 } } },
  'POST /functions/broken/invoke': {
    body: {
      invocation: {
        ...invocation,
        function: 'broken',
        status: 'error',
        error: { name: 'TypeError', message: 'x is undefined' },
      },
    },
  },
  'GET /functions/api/invocations?status=failed&limit=5': { body: { invocations: [invocation] } },
  'GET /functions/api/logs': {
    body: { logs: [{ invocation: 'inv_1', start: invocation.start, logs: 'one\ntwo\n' }], cursor: 'c1' },
  },
  'GET /functions/api/logs?after=c1': { body: { logs: [], cursor: 'c1' } },
  'POST /functions/api/rollback': { body: { name: 'api', version: 2 } },
  'POST /keys': {
    body: {
      id: 'k1',
      key: 'gk_secret',
      accessKeyId: 'AK1',
      secretAccessKey: 'SK1',
      scope: 'invoke',
      function: 'api',
      expiresAt: null,
    },
  },
  'GET /keys': {
    body: {
      keys: [
        {
          id: 'k1',
          prefix: 'gk_se…',
          scope: 'admin',
          function: null,
          createdAt: invocation.start,
          expiresAt: null,
          revoked: false,
        },
      ],
    },
  },
  'GET /functions/locked/versions': {
    status: 403,
    body: { error: { code: 'FORBIDDEN', message: 'this key may only invoke' } },
  },
  'POST /functions/denied/rollback': {
    status: 400,
    body: {
      error: {
        code: 'MANIFEST_INVALID',
        message: 'gust.yaml has 2 errors',
        details: ['functions.a.memory: bad', 'functions.b.timeout: bad'],
      },
    },
  },
};

let api: FakeApi;
let tmp: string;
let env: Record<string, string>;

beforeAll(async () => {
  api = await fakeApi(answers);
  tmp = await mkdtemp(path.join(tmpdir(), 'gust-cli-api-'));
  await writeFile(path.join(tmp, 'admin.key'), 'gk_admin_from_file\n');
  env = { GUST_URL: api.url, GUST_DATA_DIR: tmp };
});

afterAll(async () => {
  await api.close();
  await rm(tmp, { recursive: true, force: true });
});

function lastRequest() {
  return api.requests.at(-1);
}

describe('talking to the control API', () => {
  it('ls --json prints exactly one JSON document, the API answer, using the admin key from the data folder', async () => {
    const { code, stdout } = await gust(['ls', '--json'], { env });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ functions: [summary] });
    expect(stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(lastRequest()?.authorization).toBe('Bearer gk_admin_from_file');
  });

  it('ls prints a readable table of functions', async () => {
    const { code, stdout } = await gust(['ls'], { env });
    expect(code).toBe(0);
    const [header, row] = stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NAME\s+PROJECT\s+VERSION\s+RUNTIME/);
    expect(row).toMatch(/^api\s+shop\s+v3\s+node\s+128 MB\s+3 s\s+1 \(0-10\)\s+GET \/items\/:id$/);
  });

  it('GUST_API_KEY wins over the admin key file', async () => {
    await gust(['ls', '--json'], { env: { ...env, GUST_API_KEY: 'gk_from_env' } });
    expect(lastRequest()?.authorization).toBe('Bearer gk_from_env');
  });

  it('a refused key names where it came from and how to fix it', async () => {
    const refusing = await fakeApi({
      'GET /functions': { status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'bad key' } } },
    });
    try {
      const fromFile = await gust(['ls'], { env: { ...env, GUST_URL: refusing.url } });
      expect(fromFile.code).toBe(1);
      expect(fromFile.stderr).toBe(
        `gust: Gust at ${refusing.url} refused the admin key in ${path.join(tmp, 'admin.key')} (set GUST_DATA_DIR to that platform's data folder, or set GUST_API_KEY)\n`,
      );
      const fromEnv = await gust(['ls'], { env: { ...env, GUST_URL: refusing.url, GUST_API_KEY: 'x' } });
      expect(fromEnv.stderr).toMatch(/^gust: Gust at .* refused the key in GUST_API_KEY/);
      const none = await gust(['ls'], {
        env: { GUST_URL: refusing.url, GUST_DATA_DIR: path.join(tmp, 'nope') },
      });
      expect(none.stderr).toMatch(/^gust: no API key: set GUST_API_KEY, or GUST_DATA_DIR .*admin\.key\)\n$/);
    } finally {
      await refusing.close();
    }
  });

  it("prints the API's error message as one line, exit 1", async () => {
    const { code, stderr, stdout } = await gust(['versions', 'locked', '--json'], { env });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe('gust: this key may only invoke\n');
  });

  it('prints every line of the details of an API error after the first line', async () => {
    const { code, stderr } = await gust(['rollback', 'denied'], { env });
    expect(code).toBe(1);
    expect(stderr).toBe(
      'gust: gust.yaml has 2 errors\n  functions.a.memory: bad\n  functions.b.timeout: bad\n',
    );
  });

  it('rollback sends the version asked for, with or without the v', async () => {
    const { code, stdout } = await gust(['rollback', 'api', 'v2'], { env });
    expect(code).toBe(0);
    expect(lastRequest()?.body).toEqual({ version: 2 });
    expect(stdout).toBe('api  v2  active\n');
  });

  it('invoke sends the JSON of --data @file and prints the result on stdout, logs and summary on stderr', async () => {
    await writeFile(path.join(tmp, 'event.json'), '{"a": 1, "b": 2}');
    const { code, stdout, stderr } = await gust(['invoke', 'api', '--data', '@event.json'], {
      env,
      cwd: tmp,
    });
    expect(code).toBe(0);
    expect(lastRequest()?.body).toEqual({ data: { a: 1, b: 2 } });
    expect(JSON.parse(stdout)).toEqual({ sum: 3 });
    expect(stderr).toMatch(
      /^hello from api\napi v3 {2}ok {2}12 ms \(billed 12 ms, 128 MB, cold start 40 ms\) {2}inv_1\n$/,
    );
  });

  it('invoke --async --json sends async and prints the answer as JSON', async () => {
    const { code, stdout } = await gust(['invoke', 'api', '--async', '--json', '--data', '[1]'], { env });
    expect(code).toBe(0);
    expect(lastRequest()?.body).toEqual({ data: [1], async: true });
    expect(JSON.parse(stdout)).toMatchObject({ invocation: { id: 'inv_1' } });
  });

  it('an invocation that ends in error exits 1 with its error and where to read the logs', async () => {
    const { code, stderr } = await gust(['invoke', 'broken'], { env });
    expect(code).toBe(1);
    expect(stderr.trimEnd().split('\n').at(-1)).toBe(
      'gust: broken error: TypeError: x is undefined (see `gust logs broken --invocation inv_1`)',
    );
  });

  it('invocations passes --status and --limit as the query and prints a table', async () => {
    const { code, stdout } = await gust(['invocations', 'api', '--status', 'failed', '--limit', '5'], {
      env,
    });
    expect(code).toBe(0);
    expect(lastRequest()?.url).toBe('/functions/api/invocations?status=failed&limit=5');
    expect(stdout).toMatch(/^ID\s+STATUS\s+TRIGGER/);
    expect(stdout).toMatch(/inv_1\s+ok\s+invoke\s+v3/);
  });

  it('logs prints each line with its invocation; --json is the API answer', async () => {
    const text = await gust(['logs', 'api'], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toBe('inv_1  one\ninv_1  two\n');
    const json = await gust(['logs', 'api', '--json'], { env });
    expect(JSON.parse(json.stdout)).toMatchObject({ cursor: 'c1' });
  });

  it('logs --follow polls with the cursor until Ctrl-C, then exits 0', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/gust.js'), 'logs', 'api', '--follow'], {
      env: { ...process.env, ...env },
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const start = api.requests.length;
    await expect
      .poll(() => api.requests.slice(start).filter((r) => r.url.endsWith('after=c1')).length, {
        timeout: 10_000,
      })
      .toBeGreaterThanOrEqual(2);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stdout).toBe('inv_1  one\ninv_1  two\n');
  });

  it('keys create --json prints the key, its SigV4 pair and scope; the human form warns it is shown once', async () => {
    const json = await gust(
      ['keys', 'create', '--scope', 'invoke', '--function', 'api', '--expires', '30d', '--json'],
      { env },
    );
    expect(json.code).toBe(0);
    expect(lastRequest()?.body).toEqual({ scope: 'invoke', function: 'api', expires: '30d' });
    expect(JSON.parse(json.stdout)).toMatchObject({
      key: 'gk_secret',
      accessKeyId: 'AK1',
      secretAccessKey: 'SK1',
      scope: 'invoke',
    });
    const human = await gust(['keys', 'create', '--scope', 'invoke'], { env });
    expect(human.stdout).toMatch(/^key\s+gk_secret$/m);
    expect(human.stderr).toMatch(/only time the key is shown/);
  });

  it('keys ls shows a prefix, never a whole key', async () => {
    const { code, stdout } = await gust(['keys', 'ls'], { env });
    expect(code).toBe(0);
    expect(stdout).toMatch(/k1\s+gk_se…\s+admin\s+-\s+\S+ \S+\s+never\s+active/);
  });
});

describe('deploy', () => {
  it('bundles every function, posts the YAML text with the bundles, and prints what changed', async () => {
    const dir = path.join(tmp, 'project');
    await mkdir(path.join(dir, 'src'), { recursive: true });
    const yaml = 'functions:\n  api:\n    handler: src/api.ts\n  cron:\n    handler: src/cron.mjs\n';
    await writeFile(path.join(dir, 'gust.yaml'), yaml);
    await writeFile(
      path.join(dir, 'src/api.ts'),
      "import type { Context } from 'gust';\nexport default (_r: Request, _c: Context) => new Response('hi');\n",
    );
    await writeFile(path.join(dir, 'src/cron.mjs'), 'export async function handler() { return 1; }\n');
    const { code, stdout, stderr } = await gust(['deploy', 'project'], { env, cwd: tmp });
    expect(stderr).toMatch(/^bundling 2 functions…\nuploading \d+ kB to http:\/\/127\.0\.0\.1:\d+…\n$/);
    expect(code).toBe(0);
    expect(stdout).toBe(
      'project project\napi   v3  deployed\ncron  v2  unchanged\nold       left running: not in gust.yaml (gust deploy --prune removes it)\n',
    );
    const body = lastRequest()?.body as {
      manifest: string;
      bundles: Record<string, string>;
      project: string;
    };
    // the folder's name: the project unless gust.yaml names one
    expect(body.project).toBe('project');
    expect(body.manifest).toBe(yaml);
    expect(Object.keys(body.bundles).sort()).toEqual(['api', 'cron']);
    expect(body.bundles.api).toContain('new Response("hi")');
  });
});
