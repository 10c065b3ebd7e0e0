/**
 * The CLI against a real platform: `gust up` in a child process (port 0, a temp data folder),
 * then every command of the control API through `node bin/gust.js`, as a user would.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, gust, jsonError, ROOT } from './helpers.js';

let tmp: string;
let project: string;
let up: ChildProcessWithoutNullStreams;
let upStdout = '';
let upExit: Promise<number | null>;
let env: Record<string, string>;

async function writeProject(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'src'), { recursive: true });
  await writeFile(
    path.join(dir, 'gust.yaml'),
    [
      'functions:',
      '  add:',
      '    handler: src/add.mjs',
      '  hello:',
      '    handler: src/hello.ts',
      '    triggers:',
      '      - http: { path: /hello, methods: [GET], auth: public }',
      '',
    ].join('\n'),
  );
  await writeFile(
    path.join(dir, 'src/add.mjs'),
    "export async function handler(e) { console.log('adding', e.a, e.b); if (e.a === 0) throw new Error('zero'); return { sum: e.a + e.b }; }\n",
  );
  await writeFile(
    path.join(dir, 'src/hello.ts'),
    "import type { Context } from 'gust';\nexport default async (_r: Request, _c: Context) => new Response('hi');\n",
  );
}

/** Resolves once `gust up` has printed `lines` lines, or rejects with what it said on stderr. */
function stdoutLines(child: ChildProcessWithoutNullStreams, lines: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.on('data', (d: Buffer) => {
      upStdout += d.toString();
      const complete = upStdout.split('\n').slice(0, -1);
      if (complete.length >= lines) resolve(complete);
    });
    child.on('exit', (code) => reject(new Error(`gust up exited ${code}: ${stderr}`)));
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'gust-cli-e2e-'));
  project = path.join(tmp, 'project');
  await writeProject(project);
  const data = path.join(tmp, 'data');
  up = spawn(
    process.execPath,
    [path.join(ROOT, 'bin/gust.js'), 'up', project, '--port', '0', '--s3-port', '0', '--data', data],
    { env: cleanEnv({ GUST_LOG_LEVEL: 'warn' }) },
  );
  upExit = new Promise((resolve) => up.on('exit', resolve));
  // the URL, the admin key, the S3 API, the settings, the project and its two functions
  const [line = ''] = await stdoutLines(up, 7);
  const url = /^Gust is listening on (http:\/\/\S+) \(embedded mode, data in (.+)\)$/.exec(line);
  if (!url?.[1]) throw new Error(`unexpected first line: ${line}`);
  expect(url[2]).toBe(data);
  env = { GUST_URL: url[1], GUST_DATA_DIR: data };
});

afterAll(async () => {
  if (up.exitCode === null) up.kill('SIGKILL');
  await rm(tmp, { recursive: true, force: true });
});

describe('gust up and the commands against it', () => {
  it('up prints where it listens, the admin key and every function it deployed', () => {
    const lines = upStdout.trimEnd().split('\n');
    expect(lines[1]).toBe(`Admin key: ${path.join(env.GUST_DATA_DIR!, 'admin.key')}`);
    // the folder has no project: in gust.yaml, so its name is the project's, and up says so
    expect(lines[2]).toMatch(/^S3 API on http:\/\/127\.0\.0\.1:\d+ /);
    // what is kept, counted and exported: the defaults here
    expect(lines[3]).toBe(
      'Records kept 7d (failed ones 30d), at most about 1GB; events for replay 1d, at most about 256MB; metrics at /_gust/metrics; spans not exported (set GUST_OTLP_URL); the last 50 versions of each function kept',
    );
    expect(lines[4]).toBe('project project (from the folder name; set project: in gust.yaml to choose it)');
    expect(lines.slice(5).sort()).toEqual([
      expect.stringMatching(/^add\s+v1\s+deployed$/),
      expect.stringMatching(/^hello\s+v1\s+deployed$/),
    ]);
  });

  it('ls --json lists both functions with their routes', async () => {
    const { code, stdout } = await gust(['ls', '--json'], { env });
    expect(code).toBe(0);
    const { functions } = JSON.parse(stdout) as { functions: { name: string; routes: string[] }[] };
    expect(functions.map((f) => [f.name, f.routes])).toEqual([
      ['add', []],
      ['hello', ['GET /hello']],
    ]);
  });

  it('invoke returns the result, and a failing invocation exits 1 naming its logs', async () => {
    const ok = await gust(['invoke', 'add', '--data', '{"a": 2, "b": 3}'], { env });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ sum: 5 });
    expect(ok.stderr).toMatch(/adding 2 3/);
    const failed = await gust(['invoke', 'add', '--data', '{"a": 0, "b": 1}'], { env });
    expect(failed.code).toBe(1);
    expect(failed.stderr.trimEnd().split('\n').at(-1)).toMatch(
      /^gust: add error: .*zero.*\(see `gust logs add --invocation \S+`\)$/,
    );
  });

  it('invocations and logs show what ran', async () => {
    const list = await gust(['invocations', 'add', '--status', 'error', '--json'], { env });
    expect(list.code).toBe(0);
    const { invocations } = JSON.parse(list.stdout) as { invocations: { id: string; status: string }[] };
    expect(invocations).toHaveLength(1);
    const failedId = invocations[0]!.id;
    const logs = await gust(['logs', 'add', '--invocation', failedId], { env });
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(new RegExp(`^${failedId} {2}.*adding 0 1`, 'm'));
    expect(logs.stdout).not.toMatch(/adding 2 3/);
  });

  it('deploy of an unchanged project says unchanged; versions and rollback move between versions', async () => {
    const same = await gust(['deploy', project], { env });
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/^add\s+v1\s+unchanged$/m);
    await writeFile(
      path.join(project, 'src/add.mjs'),
      'export async function handler(e) { return { sum: e.a + e.b + 100 }; }\n',
    );
    const changed = await gust(['deploy', project], { env });
    expect(changed.stdout).toMatch(/^add\s+v2\s+deployed$/m);
    // stderr is a pipe: no progress lines
    expect(changed.stderr).toBe('');
    expect(JSON.parse((await gust(['invoke', 'add', '--data', '{"a":1,"b":1}'], { env })).stdout)).toEqual({
      sum: 102,
    });
    const versions = await gust(['versions', 'add'], { env });
    expect(versions.stdout).toMatch(/^\* v2\s/m);
    const back = await gust(['rollback', 'add'], { env });
    expect(back.stdout).toBe('add  v1  active\n');
    expect(JSON.parse((await gust(['invoke', 'add', '--data', '{"a":1,"b":1}'], { env })).stdout)).toEqual({
      sum: 2,
    });
  });

  it('deploy after a rollback makes a new version of what an older one held, so the history shows the rollback', async () => {
    // v1 is active again (the rollback above); the folder holds v2's code
    const again = await gust(['deploy', project], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^add\s+v3\s+deployed$/m);
    const versions = await gust(['versions', 'add', '--json'], { env });
    const list = (
      JSON.parse(versions.stdout) as { versions: { version: number; hash: string; active: boolean }[] }
    ).versions;
    const of = (n: number) => list.find((v) => v.version === n);
    expect(of(3)).toMatchObject({ active: true, hash: of(2)?.hash });
    expect(of(1)?.hash).not.toBe(of(2)?.hash);
    // compared with the active version: the same again makes none
    expect((await gust(['deploy', project], { env })).stdout).toMatch(/^add\s+v3\s+unchanged$/m);
  });

  it('keys: a created invoke key works for its function only, and stops working once revoked', async () => {
    const created = await gust(['keys', 'create', '--scope', 'invoke', '--function', 'add', '--json'], {
      env,
    });
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout) as {
      id: string;
      key: string;
      accessKeyId: string;
      secretAccessKey: string;
    };
    expect(key).toMatchObject({ scope: 'invoke', key: expect.any(String), accessKeyId: expect.any(String) });
    const withKey = { ...env, GUST_API_KEY: key.key };
    expect((await gust(['invoke', 'add', '--data', '{"a":1,"b":2}'], { env: withKey })).code).toBe(0);
    const denied = await gust(['ls'], { env: withKey });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^gust: .+\n$/);
    const listed = await gust(['keys', 'ls'], { env });
    expect(listed.stdout).toContain(key.id);
    expect(listed.stdout).not.toContain(key.key);
    expect((await gust(['keys', 'revoke', key.id], { env })).stdout).toBe(`revoked ${key.id}\n`);
    const refused = await gust(['invoke', 'add'], { env: withKey });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refused the key in GUST_API_KEY/);
  });

  it('rm removes a function', async () => {
    expect((await gust(['rm', 'hello'], { env })).stdout).toMatch(/^removed hello \(project \S+\)\n$/);
    const ls = await gust(['ls', '--json'], { env });
    expect((JSON.parse(ls.stdout) as { functions: { name: string }[] }).functions.map((f) => f.name)).toEqual(
      ['add'],
    );
  });

  it('a second gust up on the same port fails with one line, exit 1', async () => {
    const port = new URL(env.GUST_URL!).port;
    const second = await gust(['up', '--port', port, '--data', path.join(tmp, 'data2')], {
      env: { GUST_LOG_LEVEL: 'silent' },
    });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`^gust: port ${port} is in use.*\\n$`));
    // the code the platform gives it (docs/ERRORS.md)
    const json = await gust(['up', '--port', port, '--data', path.join(tmp, 'data2'), '--json'], {
      env: { GUST_LOG_LEVEL: 'silent' },
    });
    expect(json.code).toBe(1);
    expect(jsonError(json.stderr).code).toBe('UNAVAILABLE');
  });

  it('Ctrl-C stops gust up cleanly with exit 0', async () => {
    up.kill('SIGINT');
    expect(await upExit).toBe(0);
  });
});
