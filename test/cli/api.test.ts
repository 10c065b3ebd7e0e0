/**
 * How the CLI talks to Gust: what it sends, what it prints, how it reports the API's answers and
 * errors (as text, and as JSON with --json). Against a real `gust up`; e2e.test.ts walks a user's
 * session, usage.test.ts what is refused before any platform is asked.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { api, type Gust, startGust, WAIT, writeProject } from '../helpers/gust.js';
import { cleanEnv, gust, jsonError, ROOT } from './helpers.js';

const FILES = {
  'gust.yaml': [
    'functions:',
    '  api:',
    '    handler: src/api.mjs',
    '  items:',
    '    handler: src/items.ts',
    '    triggers:',
    '      - http: { path: /items/:id, methods: [GET] }',
    '',
  ].join('\n'),
  'src/api.mjs':
    "export async function handler(e) { console.log('hello from api'); console.log('second line'); return { sum: e.a + e.b }; }\n",
  'src/items.ts':
    "import type { Context } from 'gust';\nexport default (_r: Request, c: Context) => Response.json({ id: c.params.id });\n",
};

let g: Gust;
let project: string;
let tmp: string;
/** The CLI as `gust up`'s user: its URL, and the admin key from its data folder. */
let env: Record<string, string>;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'gust-cli-api-'));
  project = await writeProject(FILES);
  g = await startGust({ dir: project });
  env = { GUST_URL: g.url, GUST_DATA_DIR: g.dataDir };
});

afterAll(async () => {
  await g?.stop();
  await rm(tmp, { recursive: true, force: true });
});

/** A key of this scope, made through the API. */
async function keyOf(scope: string): Promise<string> {
  const created = await api<{ key: string }>(g, 'POST', '/keys', { scope });
  return created.body.key;
}

describe('talking to the control API', () => {
  it('ls --json prints exactly one JSON document, the API answer, using the admin key from the data folder', async () => {
    const { code, stdout, stderr } = await gust(['ls', '--json'], { env });
    expect(code, stderr).toBe(0);
    expect(stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(stdout)).toEqual((await api(g, 'GET', '/functions')).body);
  });

  it('ls prints a readable table of functions', async () => {
    const { code, stdout } = await gust(['ls'], { env });
    expect(code).toBe(0);
    const [header, ...rows] = stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NAME\s+PROJECT\s+VERSION\s+RUNTIME\s+MEMORY\s+TIMEOUT\s+INSTANCES\s+TRIGGERS$/);
    expect(rows).toContainEqual(
      expect.stringMatching(
        /^items\s+app\s+v1\s+node\s+128 MB\s+30 s\s+\d+ \(0-10\)\s+http GET \/items\/:id$/,
      ),
    );
  });

  it('GUST_API_KEY wins over the admin key file', async () => {
    const { code, stderr } = await gust(['ls'], { env: { ...env, GUST_API_KEY: 'gust_not_a_key' } });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^gust: Gust at \S+ refused the key in GUST_API_KEY/);
  });

  it('a refused key names where it came from and how to fix it', async () => {
    const wrong = path.join(tmp, 'wrong');
    await mkdir(wrong);
    await writeFile(path.join(wrong, 'admin.key'), 'gust_AAAAAAAAAAAAAAAA_not-the-key\n');
    const fromFile = await gust(['ls'], { env: { GUST_URL: g.url, GUST_DATA_DIR: wrong } });
    expect(fromFile.code).toBe(1);
    expect(fromFile.stderr).toBe(
      `gust: Gust at ${g.url} refused the admin key in ${path.join(wrong, 'admin.key')} (set GUST_DATA_DIR to that platform's data folder, or set GUST_API_KEY)\n`,
    );
    const none = await gust(['ls'], { env: { GUST_URL: g.url, GUST_DATA_DIR: path.join(tmp, 'nope') } });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^gust: no API key: set GUST_API_KEY, or GUST_DATA_DIR .*admin\.key\)\n$/);
  });

  it("prints the API's error message as one line, exit 1", async () => {
    const invokeKey = await keyOf('invoke');
    const { code, stderr, stdout } = await gust(['versions', 'api'], {
      env: { GUST_URL: g.url, GUST_API_KEY: invokeKey },
    });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe('gust: this invoke key cannot do that: it needs a key of scope deploy or admin\n');
  });

  it('a key that is not an admin key is told it needs an admin key', async () => {
    const { code, stderr } = await gust(['keys', 'ls'], {
      env: { GUST_URL: g.url, GUST_API_KEY: await keyOf('deploy') },
    });
    expect(code).toBe(1);
    expect(stderr).toBe('gust: this deploy key cannot do that: it needs an admin key\n');
  });

  it('prints every line of the details of an API error after the first line', async () => {
    // the same function name from another folder: another project's, refused with details
    const other = await writeProject(
      { 'gust.yaml': 'functions:\n  api:\n    handler: src/api.mjs\n', 'src/api.mjs': FILES['src/api.mjs'] },
      'other',
    );
    const { code, stderr } = await gust(['deploy', other], { env });
    expect(code).toBe(1);
    const lines = stderr.trimEnd().split('\n');
    expect(lines.at(-2)).toMatch(
      /^gust: a function of another project: api \(project app\); nothing was deployed/,
    );
    expect(lines.at(-1)).toBe('  functions.api: owned by project app; --adopt moves it to project other');
  });

  it('--json errors are one JSON line on stderr with the API code, and the same exit code as without', async () => {
    const text = await gust(['versions', 'nosuch'], { env });
    const json = await gust(['versions', 'nosuch', '--json'], { env });
    expect(text.code).toBe(1);
    expect(json.code).toBe(1);
    expect(json.stdout).toBe('');
    expect(jsonError(json.stderr)).toEqual({
      code: 'NOT_FOUND',
      message: text.stderr.trimEnd().replace(/^gust: /, ''),
    });
  });

  it('rollback takes a version with or without the v', async () => {
    await writeFile(
      path.join(project, 'src/api.mjs'),
      'export async function handler(e) { return { sum: e.a + e.b, version: 2 }; }\n',
    );
    expect((await gust(['deploy', project], { env })).stdout).toMatch(/^api\s+v2\s+deployed$/m);
    expect((await gust(['rollback', 'api', 'v1'], { env })).stdout).toBe('api  v1  active\n');
    expect((await gust(['rollback', 'api', '2'], { env })).stdout).toBe('api  v2  active\n');
    expect((await gust(['rollback', 'api'], { env })).stdout).toBe('api  v1  active\n');
  });
});

describe('invoke, logs and invocations', () => {
  it('invoke sends the JSON of --data @file and prints the result on stdout, logs and summary on stderr', async () => {
    await writeFile(path.join(tmp, 'event.json'), '{"a": 1, "b": 2}');
    const { code, stdout, stderr } = await gust(['invoke', 'api', '--data', '@event.json'], {
      env,
      cwd: tmp,
    });
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ sum: 3 });
    expect(stderr).toMatch(
      /^\S+\tINFO\thello from api\n\S+\tINFO\tsecond line\napi v1 {2}ok {2}\S+ ms \(billed \d+ ms, 128 MB(, cold start \S+ ms)?\) {2}\S+\n$/,
    );
  });

  it('invoke --data - reads the event from standard input', async () => {
    const { code, stdout } = await gust(['invoke', 'api', '--data', '-', '--json'], {
      env,
      input: '{"a": 20, "b": 22}\n',
    });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ result: { sum: 42 }, invocation: { status: 'ok' } });
  });

  it('invoke --async queues the event and says how to find it; the function runs later', async () => {
    const { code, stdout } = await gust(['invoke', 'api', '--async', '--data', '{"a": 1, "b": 2}'], { env });
    expect(code).toBe(0);
    const id = /^accepted (\S+) \(see `gust logs api --invocation \1`\)$/.exec(stdout.trim())?.[1];
    expect(id).toBeDefined();
    await vi.waitFor(async () => {
      const r = await api<{ status: string; trigger: string; logs: string }>(g, 'GET', `/invocations/${id}`);
      expect(r.body).toMatchObject({ status: 'ok', trigger: 'invoke' });
      expect(r.body.logs).toContain('hello from api');
    }, WAIT);
    const json = await gust(['invoke', 'api', '--async', '--data', '{"a": 2, "b": 3}', '--json'], { env });
    expect(JSON.parse(json.stdout)).toMatchObject({ invocation: { function: 'api', status: 'queued' } });
  });

  it('invoke --async of an HTTP call is a usage error: an HTTP call is answered', async () => {
    const { code, stderr } = await gust(['invoke', 'items', '--async', '--path', '/items/1'], { env });
    expect(code).toBe(2);
    expect(stderr).toContain('--async');
  });

  it('invocations passes --status and --limit and prints a table', async () => {
    const { code, stdout } = await gust(['invocations', 'api', '--status', 'ok', '--limit', '1'], { env });
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+ATTEMPT\s+STATUS\s+TRIGGER\s+VERSION/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^\S+\s+1\s+ok\s+invoke\s+v1\s/);
  });

  it('logs prints each line with its invocation; --json is the API answer', async () => {
    const text = await gust(['logs', 'api'], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^(\S+) {2}\S+\tINFO\thello from api\n\1 {2}\S+\tINFO\tsecond line\n/);
    const json = await gust(['logs', 'api', '--json'], { env });
    expect(JSON.parse(json.stdout)).toMatchObject({ logs: expect.any(Array), cursor: expect.anything() });
  });

  it('invocations takes --since as a duration or an ISO time, and --trigger by name', async () => {
    const recent = await gust(['invocations', 'api', '--since', '1h', '--trigger', 'invoke', '--json'], {
      env,
    });
    expect(recent.code, recent.stderr).toBe(0);
    const { invocations } = JSON.parse(recent.stdout) as { invocations: { trigger: string }[] };
    expect(invocations.length).toBeGreaterThan(0);
    expect(new Set(invocations.map((i) => i.trigger))).toEqual(new Set(['invoke']));
    const since = await gust(['invocations', 'api', '--since', '2000-01-01T00:00:00Z', '--trigger', 'http'], {
      env,
    });
    expect(since.code, since.stderr).toBe(0);
    expect(since.stdout).toBe('no invocations of api\n');
  });

  it('logs --limit N shows the logs of the last N calls, and a full page says so on stderr, not with --json', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await gust(['invoke', 'api', '--data', `{"a": ${i}, "b": 0}`], { env })).code).toBe(0);
    }
    const all = await gust(['logs', 'api'], { env });
    expect(all.code).toBe(0);
    // fewer calls than a page holds: nothing left out, nothing said
    expect(all.stderr).toBe('');
    const two = await gust(['logs', 'api', '--limit', '2'], { env });
    expect(two.code).toBe(0);
    const ids = new Set(
      two.stdout
        .trimEnd()
        .split('\n')
        .map((line) => line.split(' ')[0]),
    );
    expect(ids.size).toBe(2);
    expect(two.stderr).toBe('showing the logs of the last 2 calls; --limit raises it\n');
    const json = await gust(['logs', 'api', '--limit', '2', '--json'], { env });
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { logs: unknown[] }).logs).toHaveLength(2);
    expect(json.stderr).toBe('');
  });

  it("an invocation's log entry carries its version and duration; past its cursor, only its later attempts", async () => {
    const invoked = await api<{ invocation: { id: string; durationMs: number } }>(
      g,
      'POST',
      '/functions/api/invoke',
      { data: { a: 1, b: 1 } },
    );
    const { id, durationMs } = invoked.body.invocation;
    const first = await api<{ logs: unknown[]; cursor: number }>(
      g,
      'GET',
      `/functions/api/logs?invocation=${id}`,
    );
    expect(first.body.logs).toEqual([expect.objectContaining({ invocation: id, version: 1, durationMs })]);
    // what `gust logs --invocation ID --follow` asks next: not the same entry again, nor a 404
    const next = await api(g, 'GET', `/functions/api/logs?invocation=${id}&after=${first.body.cursor}`);
    expect(next).toEqual({ status: 200, body: { logs: [], cursor: first.body.cursor } });
  });

  it('logs of an invocation that does not exist exits 1 with the platform message', async () => {
    const { code, stdout, stderr } = await gust(['logs', 'api', '--invocation', 'nosuch'], { env });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe('gust: no invocation nosuch of api: gust invocations api lists them\n');
  });

  it('logs --follow prints logs as they come until Ctrl-C, then exits 0', async () => {
    const child: ChildProcessWithoutNullStreams = spawn(
      process.execPath,
      [path.join(ROOT, 'bin/gust.js'), 'logs', 'api', '--follow'],
      { env: cleanEnv(env) },
    );
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // what came before, then one invocation made while it follows
    await expect.poll(() => stdout, WAIT).toMatch(/second line\n$/);
    const before = stdout.length;
    const invoked = await gust(['invoke', 'api', '--data', '{"a":1,"b":1}'], { env });
    expect(invoked.code).toBe(0);
    await expect.poll(() => stdout.slice(before), WAIT).toMatch(/hello from api/);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it('keys create --json prints the key, its SigV4 pair and scope; the human form warns it is shown once', async () => {
    const json = await gust(
      ['keys', 'create', '--scope', 'invoke', '--function', 'api', '--expires', '30d', '--json'],
      {
        env,
      },
    );
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      key: expect.stringMatching(/^gust_/),
      accessKeyId: expect.stringMatching(/^GUSK/),
      secretAccessKey: expect.any(String),
      scope: 'invoke',
      function: 'api',
      expiresAt: expect.any(String),
    });
    const human = await gust(['keys', 'create', '--scope', 'invoke'], { env });
    expect(human.stdout).toMatch(/^key\s+gust_\S+$/m);
    expect(human.stderr).toMatch(/only time the key is shown/);
  });

  it('keys ls shows a prefix, never a whole key', async () => {
    const created = JSON.parse(
      (await gust(['keys', 'create', '--scope', 'deploy', '--json'], { env })).stdout,
    ) as {
      id: string;
      key: string;
    };
    const { code, stdout } = await gust(['keys', 'ls'], { env });
    expect(code).toBe(0);
    expect(stdout).toMatch(
      new RegExp(`^${created.id}\\s+gust_\\S+…\\s+deploy\\s+-\\s+\\S+ \\S+\\s+never\\s+-\\s+active$`, 'm'),
    );
    expect(stdout).not.toContain(created.key);
  });
});
