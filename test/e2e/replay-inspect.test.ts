/**
 * gust replay --inspect end to end, as root and as nobody: the replay runs on an instance of its
 * own whose inspector answers the DevTools protocol on 127.0.0.1; it waits for a debugger, pauses
 * on the first line of the author's handler with the very event in reach, its bundle's source map
 * naming the author's files with their text, and ends as the original did once resumed, billing
 * nothing. The function's own traffic is served meanwhile, the instance is gone after, Ctrl-C stops
 * it (exit 130), --inspect-port chooses the port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { InvocationRecord } from '../../src/backends/ports.js';
import { SourceMapIndex } from '../../src/runtime/sandbox/sourcemap.js';
import {
  api,
  BIN,
  type CliResult,
  CONFIG_HOME,
  cli,
  deployProject,
  type Gust,
  invoke,
  livePids,
  MODES,
  startGust,
  WAIT,
} from '../helpers/gust.js';
import { attach } from '../helpers/inspector.js';

const FILES = {
  'gust.yaml': `
functions:
  step:
    handler: src/step.ts
    scale: { max: 1 }
    timeout: 100ms
  sealed:
    handler: src/step.ts
    egress: none
`,
  // an instance under the debugger runs without the permission model: what it starts dies with it
  'src/step.ts': `import { spawn } from 'node:child_process';
type Step = { n: number; sleep?: number; fail?: boolean };
export async function handler(event: Step) {
  console.log('step', event.n);
  try {
    if (event.sleep) spawn('/bin/sleep', [String(event.sleep)], { stdio: 'ignore', detached: true }).unref();
  } catch {}
  if (event.fail) throw new Error('boom ' + event.n);
  return { n: event.n };
}`,
};

/** `gust replay ID --inspect` run in `cwd`, its inspector URL as soon as it says it. */
function replayUnderDebugger(g: Gust, id: string, cwd: string, more: string[] = []) {
  const proc: ChildProcess = spawn(process.execPath, [BIN, 'replay', id, '--inspect', ...more], {
    cwd,
    env: {
      PATH: process.env.PATH ?? '',
      XDG_CONFIG_HOME: CONFIG_HOME,
      TMPDIR: os.tmpdir(),
      GUST_URL: g.url,
      GUST_API_KEY: g.key,
    },
  });
  let stdout = '';
  let stderr = '';
  proc.stdout?.on('data', (b: Buffer) => {
    stdout += b.toString();
  });
  const done = new Promise<CliResult>((resolve) =>
    proc.once('exit', (code) => resolve({ code: code ?? 1, stdout, stderr })),
  );
  const url = new Promise<string>((resolve, reject) => {
    proc.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
      const m = /(ws:\/\/127\.0\.0\.1:\d+\/\S+)/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    void done.then((r) => reject(new Error(`gust replay --inspect ended first: ${r.code} ${r.stderr}`)));
  });
  return { proc, url, done };
}

/** The inspector's HTTP side: its targets, or undefined once nothing listens there. */
async function targets(wsUrl: string): Promise<{ webSocketDebuggerUrl: string }[] | undefined> {
  const { host } = new URL(wsUrl);
  return fetch(`http://${host}/json/list`).then(
    (r) => r.json() as Promise<{ webSocketDebuggerUrl: string }[]>,
    () => undefined,
  );
}

async function failedOnce(g: Gust, n: number, sleep?: number): Promise<string> {
  const r = await invoke(g, 'step', { fail: true, n, ...(sleep === undefined ? {} : { sleep }) });
  expect(r.body.invocation.status).toBe('error');
  return r.body.invocation.id;
}

/** The record of an invocation, once written. */
async function recordOf(g: Gust, id: string): Promise<InvocationRecord> {
  return vi.waitFor(async () => {
    const r = await api<InvocationRecord>(g, 'GET', `/invocations/${id}`);
    expect(r.status).toBe(200);
    return r.body;
  }, WAIT);
}

/** A port of 127.0.0.1 free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.each(MODES)('gust replay --inspect, $name', (mode) => {
  let g: Gust;
  let dir: string;

  beforeAll(async () => {
    g = await startGust(mode.user ? { user: mode.user } : {});
    dir = await deployProject(g, FILES);
  });

  afterAll(async () => {
    await g?.stop();
  });

  it("opens an inspector that waits for a debugger, pauses on the handler's first line in the author's file, runs to the same end, and bills nothing", async () => {
    const sleep = 900_000 + Math.floor(Math.random() * 90_000);
    const id = await failedOnce(g, 5, sleep);
    expect(await livePids(`sleep ${sleep}`)).toEqual([]); // the permission model refused it
    const replay = replayUnderDebugger(g, id, dir);
    const url = await replay.url;
    expect(replay.proc.exitCode).toBeNull();
    expect((await targets(url))?.map((t) => t.webSocketDebuggerUrl)).toEqual([url]);
    const paused = await attach(url, 'JSON.stringify(event)');
    expect(paused).toMatchObject({ pausedIn: 'handler', value: `{"fail":true,"n":5,"sleep":${sleep}}` });
    // the bundle told the debugger its map, which names the author's file where it is, with its text
    const prefix = 'data:application/json;base64,';
    expect(paused.bundle?.sourceMapURL.startsWith(prefix)).toBe(true);
    const json = Buffer.from(paused.bundle!.sourceMapURL.slice(prefix.length), 'base64').toString();
    const map = JSON.parse(json) as { sourceRoot: string; sources: string[]; sourcesContent: string[] };
    expect(map.sourceRoot).toBe(`${pathToFileURL(dir).href}/`);
    expect(map.sourcesContent[map.sources.indexOf('src/step.ts')]).toBe(FILES['src/step.ts']);
    // the first pause is the handler's first line (its console.log), in that file
    expect(SourceMapIndex.fromJson(json)?.lookup(paused.line + 1, paused.column + 1)).toMatchObject({
      source: `${pathToFileURL(dir).href}/src/step.ts`,
      line: 4,
    });
    // paused past the function's own timeout (100 ms), its callers served all the while (scale.max
    // 1): the replay's instance is not one of the function's, nor held to its timeout
    const pausedAt = Date.now();
    let served = 0;
    await vi.waitFor(async () => {
      expect((await invoke(g, 'step', { n: served })).body.invocation.status).toBe('ok');
      served++;
      expect(Date.now() - pausedAt).toBeGreaterThan(500);
    }, WAIT);
    await paused.resume();
    const result = await replay.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'Debugger listening: open chrome://inspect, or attach VS Code to 127.0.0.1:',
    );
    expect(result.stdout).toMatch(/error\s+Error: boom 5\s+Error: boom 5/);
    // its time at the debugger is recorded, and neither billed nor counted against a budget
    const replayId = /the replay (\S+) of/.exec(result.stderr)![1]!;
    const record = await recordOf(g, replayId);
    expect(record.durationMs).toBeGreaterThan(500);
    expect(record).toMatchObject({ status: 'error', billedMs: 0, gbSeconds: 0 });
    // the instance was discarded: nothing listens there any more, and what it started is gone
    await vi.waitFor(async () => expect(await targets(url)).toBeUndefined(), WAIT);
    await vi.waitFor(async () => expect(await livePids(`sleep ${sleep}`)).toEqual([]), WAIT);
  });

  it('stops the replay on Ctrl-C (exit 130), its record saying so and billing nothing, and its instance goes', async () => {
    const id = await failedOnce(g, 6);
    const port = await freePort();
    const replay = replayUnderDebugger(g, id, dir, ['--inspect-port', String(port)]);
    const url = await replay.url;
    expect(url).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:${port}/`));
    replay.proc.kill('SIGINT');
    const result = await replay.done;
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/gust: the replay \S+ was stopped \(Ctrl-C\) before it ended\n$/);
    const replayId = /the replay (\S+) was stopped/.exec(result.stderr)![1]!;
    expect(await recordOf(g, replayId)).toMatchObject({
      status: 'rejected',
      error: 'it was stopped before it ended (its replay was interrupted)',
      billedMs: 0,
      gbSeconds: 0,
    });
    await vi.waitFor(async () => expect(await targets(url)).toBeUndefined(), WAIT);
  });

  it('says so when the port asked for is taken, and refuses a port that is none', async () => {
    const id = await failedOnce(g, 7);
    const taken = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => taken.once('listening', resolve));
    const { port } = taken.address() as { port: number };
    try {
      const r = await cli(g, ['replay', id, '--inspect', '--inspect-port', String(port), '--json']);
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toContain(
        `its inspector could not listen on 127.0.0.1:${port}: address already in use (choose another --inspect-port)`,
      );
      // an instance for a debugger that could not start is not billed either
      const replayId = (JSON.parse(r.stdout) as { replay: { id: string } }).replay.id;
      expect(await recordOf(g, replayId)).toMatchObject({ billedMs: 0, gbSeconds: 0 });
    } finally {
      taken.close();
    }
    const bad = await cli(g, ['replay', id, '--inspect', '--inspect-port', '70000']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected a port number, 1 to 65535');
    const alone = await cli(g, ['replay', id, '--inspect-port', '9229']);
    expect(alone).toMatchObject({ code: 2, stderr: 'gust: --inspect-port goes with --inspect\n' });
  });

  it('refuses a function with egress: none, which no debugger could reach', async () => {
    const r = await invoke(g, 'sealed', { n: 1 });
    const refused = await cli(g, ['replay', r.body.invocation.id, '--inspect']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'gust: sealed has egress: none, so no debugger can reach its instance (its network has no way in): replay it without --inspect\n',
    );
  });
});
