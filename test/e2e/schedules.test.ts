/**
 * Schedules end to end: a cron with seconds fires once per tick, warm; `gust ls` shows the next run;
 * a tick missed while the platform was down runs once at start; `events: aws` gets EventBridge events.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  cli,
  deployProject,
  type Gust,
  type InvocationRecord,
  records,
  sleep,
  startGust,
  WAIT,
} from '../helpers/gust.js';

const running: Gust[] = [];
afterAll(async () => {
  for (const g of running) await g.stop('SIGKILL');
});

async function start(dataDir?: string): Promise<Gust> {
  const g = await startGust(dataDir === undefined ? {} : { dataDir });
  running.push(g);
  return g;
}

/** Each run logs the tick it was given (CloudEvent `data.scheduledTime`, or EventBridge `time`). */
const FILES = {
  'gust.yaml': `
functions:
  every-two:
    handler: t.mjs
    triggers:
      - schedule: { cron: "*/2 * * * * *" }
  aws-tick:
    handler: t.mjs
    events: aws
    triggers:
      - schedule: { cron: "*/3 * * * * *", timezone: Europe/Paris }
`,
  't.mjs': `export const handler = async (e) => {
  console.log('tick ' + JSON.stringify({ type: e.type ?? e['detail-type'], at: e.data?.scheduledTime ?? e.time }));
};`,
};

function ticks(rs: readonly InvocationRecord[]): { type: string; at: string }[] {
  return rs
    .flatMap((r) => r.logs.split('\n'))
    .map((l) => l.split('\t')[2] ?? '')
    .filter((t) => t.startsWith('tick '))
    .map((t) => JSON.parse(t.slice(5)) as { type: string; at: string });
}

describe('a schedule', () => {
  it('with seconds fires once per tick, warm, recorded as schedule; gust ls shows its next run', async () => {
    const g = await start();
    await deployProject(g, FILES);
    let rs: InvocationRecord[] = [];
    await vi.waitFor(async () => {
      rs = (await records(g, 'every-two')).filter((r) => r.status === 'ok');
      expect(rs.length).toBeGreaterThanOrEqual(3);
    }, WAIT);
    expect(rs.every((r) => r.trigger === 'schedule')).toBe(true);
    const seen = ticks(rs);
    expect(seen.every((t) => t.type === 'gust.schedule.tick')).toBe(true);
    // one run per tick: no tick twice, each on an even second
    expect(new Set(seen.map((t) => t.at)).size).toBe(seen.length);
    expect(seen.every((t) => new Date(t.at).getUTCSeconds() % 2 === 0)).toBe(true);
    // warmed before it fired: no scheduled run is a cold start
    expect(rs.every((r) => r.cold === false)).toBe(true);

    const ls = await cli(g, ['ls', '--json']);
    const fns = (JSON.parse(ls.stdout) as { functions: { name: string; nextRun: string | null }[] })
      .functions;
    const next = fns.find((f) => f.name === 'every-two')!.nextRun!;
    expect(Date.parse(next)).toBeGreaterThan(Date.now() - 2000);
    // in the CLI's own time zone, said in the header
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    expect((await cli(g, ['ls'])).stdout).toContain(`NEXT RUN (${zone})`);

    const aws = await vi.waitFor(async () => {
      const found = ticks(await records(g, 'aws-tick'));
      expect(found.length).toBeGreaterThanOrEqual(1);
      return found;
    }, WAIT);
    expect(aws[0]!.type).toBe('Scheduled Event');
  });

  it('runs a tick missed while the platform was down once at start, not every tick missed', async () => {
    const g = await start();
    await deployProject(g, {
      'gust.yaml':
        'functions:\n  missed:\n    handler: t.mjs\n    triggers:\n      - schedule: { cron: "*/2 * * * * *" }\n',
      't.mjs': FILES['t.mjs'],
    });
    await vi.waitFor(async () => expect((await records(g, 'missed')).length).toBeGreaterThanOrEqual(1), WAIT);
    expect(await g.stop('SIGTERM')).toBe(0);
    const stoppedAt = Date.now();
    // Time is the subject here: stay down long enough for at least two ticks to be missed.
    await sleep(5000);
    const startedAt = Date.now();
    const again = await start(g.dataDir);
    const readyAt = Date.now();
    let after: { at: string }[] = [];
    await vi.waitFor(async () => {
      after = ticks(await records(again, 'missed', 1000)).filter((t) => Date.parse(t.at) > stoppedAt);
      // at least one tick after the restart
      expect(after.some((t) => Date.parse(t.at) > readyAt)).toBe(true);
    }, WAIT);
    // Two or more ticks were due while it was down (before it was started again): at most the
    // newest of them runs, once. (A tick due while the new platform was starting may be that newest
    // one, so none of those before the start may have run; a slow start is not counted against it.)
    expect(after.filter((t) => Date.parse(t.at) <= startedAt).length).toBeLessThanOrEqual(1);
    // and the newest missed did run: some tick due before the new platform was ready
    expect(after.filter((t) => Date.parse(t.at) <= readyAt).length).toBeGreaterThanOrEqual(1);
  });
});
