import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { gate } from '../helpers/gate.js';
import {
  api,
  cli,
  deployProject,
  type Gust,
  type InvocationRecord,
  livePids,
  sleep,
  startGust,
  WAIT,
} from '../helpers/gust.js';

/**
 * One handler for every function here, steered by the query: `ms` to sleep, `exit=1` to make the
 * process exit `after` ms into the call. It answers with its TAG and how many calls it ran at once at most.
 * Its module takes INIT_MS to load.
 */
const HANDLER = `
await new Promise((r) => setTimeout(r, Number(process.env.INIT_MS ?? 0)));
let running = 0;
let peak = 0;
export default async function (req: Request): Promise<Response> {
  const q = new URL(req.url).searchParams;
  running++;
  peak = Math.max(peak, running);
  try {
    if (q.get('exit') === '1') setTimeout(() => process.exit(1), Number(q.get('after') ?? 0));
    if (q.get('gate')) await fetch(q.get('gate')!);
    await new Promise((r) => setTimeout(r, Number(q.get('ms') ?? 0)));
    return Response.json({ tag: process.env.TAG ?? null, peak });
  } finally {
    running--;
  }
}
`;

/** A gust.yaml of functions that all run HANDLER, each on the route /NAME. */
function gustYaml(functions: Record<string, string[]>): string {
  const blocks = Object.entries(functions).map(([name, settings]) =>
    [
      `  ${name}:`,
      '    handler: src/fn.ts',
      ...settings.map((s) => `    ${s}`),
      `    triggers:`,
      `      - http: { path: /${name} }`,
    ].join('\n'),
  );
  return `functions:\n${blocks.join('\n')}\n`;
}

const project = (functions: Record<string, string[]>) => ({
  'gust.yaml': gustYaml(functions),
  'src/fn.ts': HANDLER,
});

let g: Gust;

beforeAll(async () => {
  g = await startGust();
  await deployProject(
    g,
    project({
      warm: [],
      zero: ['scale: { idle: 300ms }'],
      burst: ['concurrency: 1', 'scale: { max: 3 }'],
      single: ['timeout: 3s', 'concurrency: 1', 'scale: { max: 1 }'],
      narrow: ['timeout: 60s', 'concurrency: 1', 'scale: { max: 1 }'],
      reborn: ['timeout: 4s', 'concurrency: 1', 'scale: { max: 1 }', 'env: { INIT_MS: "2500" }'],
      wide: ['concurrency: 5', 'scale: { max: 1 }'],
      quits: ['concurrency: 1', 'scale: { max: 1 }'],
      redeploy: ['env: { TAG: v1 }'],
      flip: ['env: { TAG: v1 }'],
    }),
  );
});

afterAll(async () => {
  await g?.stop();
});

interface Answer {
  readonly status: number;
  readonly id: string;
  readonly headers: Headers;
  readonly body: { tag: string | null; peak: number } | { error: { code: string } };
}

async function call(name: string, query = ''): Promise<Answer> {
  const res = await fetch(`${g.url}/${name}?${query}`);
  return {
    status: res.status,
    id: res.headers.get('x-gust-invocation-id') ?? '',
    headers: res.headers,
    body: await res.json(),
  };
}

async function recordOf(name: string, answer: Answer): Promise<InvocationRecord> {
  const r = await api<InvocationRecord>(g, 'GET', `/invocations/${answer.id}`);
  if (r.status !== 200 || r.body.function !== name)
    throw new Error(`no record of invocation ${answer.id} of ${name}`);
  return r.body;
}

async function instances(name: string, on: Gust = g): Promise<number> {
  const r = await api<{ instances: number }>(on, 'GET', `/functions/${name}`);
  return r.body.instances;
}

/**
 * Calls until one is served: then an instance is warm. A first call whose cold start (slow on a
 * loaded machine) outlasts a short timeout fails, but its instance still starts.
 */
const warmUp = (name: string) => vi.waitFor(async () => expect((await call(name)).status).toBe(200), WAIT);

const tagOf = (a: Answer) => ('tag' in a.body ? a.body.tag : undefined);
const peakOf = (a: Answer) => ('peak' in a.body ? a.body.peak : 0);

describe('instances', () => {
  it('start cold for the first call, then serve the next calls warm on the same instance', async () => {
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await call('warm'));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const [first, ...rest] = await Promise.all(answers.map((a) => recordOf('warm', a)));
    expect(first!.cold).toBe(true);
    expect(first!.initMs).toBeGreaterThan(0);
    for (const r of rest) {
      expect(r).toMatchObject({ cold: false, initMs: 0, instance: first!.instance, status: 'ok' });
    }
  });

  it('stop after scale.idle (scale to zero); the next call starts a new instance, cold', async () => {
    const before = await recordOf('zero', await call('zero'));
    expect(before.status).toBe('ok');
    // idle 300ms here; the default (60 s) would not stop it within the wait
    await vi.waitFor(async () => expect(await instances('zero')).toBe(0), WAIT);
    expect(await livePids(before.instance!)).toEqual([]);

    const after = await recordOf('zero', await call('zero'));
    expect(after).toMatchObject({ status: 'ok', cold: true });
    expect(after.initMs).toBeGreaterThan(0);
    expect(after.instance).not.toBe(before.instance);
  });

  it('scale out while all are busy, up to scale.max', async () => {
    const answers = await Promise.all(Array.from({ length: 12 }, () => call('burst', 'ms=300')));
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
    const used = new Set(
      (await Promise.all(answers.map((a) => recordOf('burst', a)))).map((r) => r.instance),
    );
    expect(used.size).toBeGreaterThan(1);
    expect(used.size).toBeLessThanOrEqual(3);
    expect(await instances('burst')).toBeLessThanOrEqual(3);
  });

  it('serve `concurrency` calls at once on one instance', async () => {
    const answers = await Promise.all(Array.from({ length: 5 }, () => call('wide', 'ms=500')));
    expect(answers.map((a) => a.status)).toEqual(Array(5).fill(200));
    const used = new Set((await Promise.all(answers.map((a) => recordOf('wide', a)))).map((r) => r.instance));
    expect(used.size).toBe(1);
    // The handler itself saw all five running together.
    expect(Math.max(...answers.map(peakOf))).toBe(5);
  });
});

describe('timeouts and throttling', () => {
  it('give a call that waited for a busy instance only what is left of its timeout', async () => {
    await warmUp('single'); // so that no cold start shifts the timeline
    // One instance, one call at a time, 3 s timeout: the second call waits 2 s for the first, so it
    // has 1 s left to run, not 3.
    const first = call('single', 'ms=2000');
    await sleep(100);
    const sent = Date.now();
    const second = await call('single', 'ms=2000');
    expect((await first).status).toBe(200);
    expect(second.status).toBe(504);
    expect(Date.now() - sent).toBeLessThan(4000); // its 3 s, and room for a loaded machine
    const r = await recordOf('single', second);
    expect(r.status).toBe('timeout');
    expect(r.durationMs).toBeLessThan(1900); // about 1 s; a whole 2 s run would have fitted in 3 s
  });

  it('answer 429 with Retry-After, recorded as throttled, when every instance is busy and the wait queue is full', async () => {
    expect((await call('narrow')).status).toBe(200);
    const door = await gate();
    const busy = call('narrow', `gate=${encodeURIComponent(door.url)}`);
    await vi.waitFor(() => expect(door.arrived()).toBe(1), WAIT);
    // One instance at scale.max, held at the gate: 100 callers wait (the queue), the other 5 are
    // throttled at once, while it is still held.
    let answered = 0;
    const calls = Array.from({ length: 105 }, () =>
      call('narrow').then((a) => {
        answered++;
        return a;
      }),
    );
    await vi.waitFor(() => expect(answered).toBe(5), WAIT);
    door.open();
    const answers = await Promise.all(calls);
    await door.close();
    expect((await busy).status).toBe(200);
    const throttled = answers.filter((a) => a.status === 429);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(100);
    expect(throttled).toHaveLength(5);
    for (const a of throttled) {
      expect(a.headers.get('retry-after')).toBe('1');
      expect(a.headers.get('x-gust-status')).toBe('throttled');
      expect(a.body).toMatchObject({ error: { code: 'THROTTLED' } });
      const r = await recordOf('narrow', a);
      expect(r).toMatchObject({ status: 'throttled', instance: null, billedMs: 0 });
      expect(r.error).toMatch(/queue is full/);
    }
  });

  it('answer 504, recorded as timeout, to a caller whose instance is still starting at its timeout', async () => {
    await warmUp('reborn'); // its module takes 2.5 s to load
    // The only instance dies 1.8 s into a call; the caller waiting behind it has 2.2 s left, less
    // than the new instance needs to load.
    const dying = call('reborn', 'exit=1&after=1800&ms=5000');
    await sleep(50);
    const sent = Date.now();
    const waiting = await call('reborn');
    expect((await dying).status).toBe(502);
    expect(waiting.status).toBe(504);
    expect(waiting.headers.get('x-gust-status')).toBe('timeout');
    expect(Date.now() - sent).toBeLessThan(4500);
    const r = await recordOf('reborn', waiting);
    expect(r).toMatchObject({ status: 'timeout', instance: null, billedMs: 0 });
    expect(r.error).toMatch(/start/);
  });
});

describe('scale.min', () => {
  it('keeps an instance warm from deploy on, and does not go below it when idle', async () => {
    await deployProject(g, project({ kept: ['scale: { min: 1, idle: 300ms }'] }));
    const first = await recordOf('kept', await call('kept'));
    expect(first).toMatchObject({ status: 'ok', cold: false, initMs: 0 });

    await sleep(1000);
    expect(await instances('kept')).toBe(1);
    const later = await recordOf('kept', await call('kept'));
    expect(later).toMatchObject({ status: 'ok', cold: false, instance: first.instance });
  });
});

describe('a redeploy', () => {
  it('lets calls in flight finish on the old version, sends new calls to the new one, and stops the old instances', async () => {
    // long enough for a deploy on a loaded machine to happen while they run
    const inFlight = [call('redeploy', 'ms=20000'), call('redeploy', 'ms=20000')];
    let finished = false;
    void Promise.all(inFlight).then(() => (finished = true));
    await vi.waitFor(async () => expect(await instances('redeploy')).toBe(2), WAIT);

    await deployProject(g, project({ redeploy: ['env: { TAG: v2 }'] }));
    expect(finished).toBe(false); // the deploy really happened while they ran

    const fresh = await call('redeploy');
    expect(fresh.status).toBe(200);
    expect(tagOf(fresh)).toBe('v2');
    expect((await recordOf('redeploy', fresh)).version).toBe(2);

    const old = await Promise.all(inFlight);
    expect(old.map((a) => a.status)).toEqual([200, 200]);
    expect(old.map(tagOf)).toEqual(['v1', 'v1']);
    const oldRecords = await Promise.all(old.map((a) => recordOf('redeploy', a)));
    expect(oldRecords.map((r) => r.version)).toEqual([1, 1]);

    for (const r of oldRecords) {
      await vi.waitFor(async () => expect(await livePids(r.instance!)).toEqual([]), WAIT);
    }
    expect(await instances('redeploy')).toBe(1); // the new version's only
  });
});

describe('a rollback', () => {
  it('to a version whose calls are still in flight serves it again from warm instances', async () => {
    const old = call('flip', 'ms=20000'); // long enough for a deploy and a rollback on a loaded machine
    let finished = false;
    void old.then(() => (finished = true));
    await vi.waitFor(async () => expect(await instances('flip')).toBe(1), WAIT);
    await deployProject(g, project({ flip: ['env: { TAG: v2 }'] }));
    const back = await cli(g, ['rollback', 'flip']);
    expect(back.code, back.stderr).toBe(0);

    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await call('flip'));
    expect(finished).toBe(false); // all of this happened while v1's first call ran
    expect(answers.map(tagOf)).toEqual(['v1', 'v1', 'v1']);
    const [first, ...rest] = await Promise.all(answers.map((a) => recordOf('flip', a)));
    for (const r of rest) expect(r).toMatchObject({ status: 'ok', cold: false, instance: first!.instance });
    expect(tagOf(await old)).toBe('v1');
  });
});

describe('an instance that dies', () => {
  it('hands the calls waiting for it to another instance instead of failing them', async () => {
    expect((await call('quits')).status).toBe(200); // warm, so that the exiting call is served first
    const dying = call('quits', 'exit=1&after=1000&ms=5000');
    await sleep(200);
    const waiting = Array.from({ length: 4 }, () => call('quits', 'ms=100'));

    const died = await dying;
    expect(died.status).toBe(502);
    const dead = await recordOf('quits', died);
    expect(dead.status).toBe('crashed');

    const served = await Promise.all(waiting);
    expect(served.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    for (const a of served) {
      const r = await recordOf('quits', a);
      expect(r.status).toBe('ok');
      expect(r.instance).not.toBe(dead.instance);
    }
    expect(await livePids(dead.instance!)).toEqual([]);
  });
});

/** Command lines of the live processes whose command line contains every one of `parts`. */
async function commandLines(...parts: string[]): Promise<string[]> {
  const out = await new Promise<string>((resolve) =>
    execFile('ps', ['-eo', 'stat=,args='], (_e, stdout) => resolve(stdout)),
  );
  return out.split('\n').filter((l) => !l.trim().startsWith('Z') && parts.every((p) => l.includes(p)));
}

describe('stem cells', () => {
  it('are kept for the memory size of a deployed function after a restart, and refilled after a cold start', async () => {
    const first = await startGust();
    await deployProject(first, project({ roomy: ['memory: 256'] }));
    await first.stop();
    const again = await startGust({ dataDir: first.dataDir });
    try {
      const idle256 = async (instance: string) =>
        (await commandLines(`gust-run-${again.proc.pid}-`, '--max-old-space-size=256')).filter(
          (l) => !l.includes(instance),
        );
      await vi.waitFor(async () => expect(await idle256('none')).not.toEqual([]), WAIT);
      // The cold start takes that cell; another is started in its place.
      const res = await fetch(`${again.url}/roomy`);
      expect(res.status).toBe(200);
      const id = res.headers.get('x-gust-invocation-id') ?? '';
      const r = await api<InvocationRecord>(again, 'GET', `/invocations/${id}`);
      expect(r.body).toMatchObject({ cold: true, memoryMb: 256 });
      await vi.waitFor(async () => expect(await idle256(r.body.instance!)).not.toEqual([]), WAIT);
    } finally {
      await again.stop();
    }
  });
});
