/**
 * gust replay --inspect end to end, as root and as nobody: the replay runs on an instance of its
 * own whose inspector answers the DevTools protocol on 127.0.0.1; it waits for a debugger, pauses
 * before the handler with the very event in reach, and ends as the original did once resumed. The
 * function's own traffic is served meanwhile, the instance is gone after, Ctrl-C stops it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { InvocationRecord } from '../../src/backends/ports.js';
import {
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
    handler: step.mjs
    scale: { max: 1 }
    timeout: 100ms
  sealed:
    handler: step.mjs
    egress: none
`,
  // an instance under the debugger runs without the permission model: what it starts dies with it
  'step.mjs': `import { spawn } from 'node:child_process';
export async function handler(event) {
  console.log('step', event.n);
  try {
    if (event.sleep) spawn('/bin/sleep', [String(event.sleep)], { stdio: 'ignore', detached: true }).unref();
  } catch {}
  if (event.fail) throw new Error('boom ' + event.n);
  return { n: event.n };
}`,
};

/** `gust replay ID --inspect`, its inspector URL as soon as it says it. */
function replayUnderDebugger(g: Gust, id: string) {
  const proc: ChildProcess = spawn(process.execPath, [BIN, 'replay', id, '--inspect'], {
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

describe.each(MODES)('gust replay --inspect, $name', (mode) => {
  let g: Gust;

  beforeAll(async () => {
    g = await startGust(mode.user ? { user: mode.user } : {});
    await deployProject(g, FILES);
  });

  afterAll(async () => {
    await g?.stop();
  });

  it('opens an inspector that waits for a debugger, pauses before the handler, and runs to the same end', async () => {
    const sleep = 900_000 + Math.floor(Math.random() * 90_000);
    const id = await failedOnce(g, 5, sleep);
    expect(await livePids(`sleep ${sleep}`)).toEqual([]); // the permission model refused it
    const replay = replayUnderDebugger(g, id);
    const url = await replay.url;
    expect(replay.proc.exitCode).toBeNull();
    expect((await targets(url))?.map((t) => t.webSocketDebuggerUrl)).toEqual([url]);
    const paused = await attach(url, 'JSON.stringify(args[0])');
    expect(paused).toMatchObject({ pausedIn: 'paused', value: `{"fail":true,"n":5,"sleep":${sleep}}` });
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
    // the instance was discarded: nothing listens there any more, and what it started is gone
    await vi.waitFor(async () => expect(await targets(url)).toBeUndefined(), WAIT);
    await vi.waitFor(async () => expect(await livePids(`sleep ${sleep}`)).toEqual([]), WAIT);
  });

  it('stops the replay on Ctrl-C, its record saying so, and its instance goes', async () => {
    const id = await failedOnce(g, 6);
    const replay = replayUnderDebugger(g, id);
    const url = await replay.url;
    replay.proc.kill('SIGINT');
    const result = await replay.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/gust: the replay \S+ was stopped \(Ctrl-C\) before it ended\n$/);
    const replayId = /the replay (\S+) was stopped/.exec(result.stderr)![1]!;
    const record = await vi.waitFor(async () => {
      const r = await cli(g, ['logs', 'step', '--invocation', replayId, '--json']);
      expect(r.code).toBe(0);
      return (JSON.parse(r.stdout) as { logs: Pick<InvocationRecord, 'status' | 'error'>[] }).logs[0]!;
    }, WAIT);
    expect(record).toMatchObject({
      status: 'rejected',
      error: 'it was stopped before it ended (its replay was interrupted)',
    });
    await vi.waitFor(async () => expect(await targets(url)).toBeUndefined(), WAIT);
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
