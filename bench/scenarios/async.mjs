/**
 * async: queued events end to end (accepted -> handler ran -> acknowledged) with a trivial
 * subscriber. Events are published as users publish at volume: CloudEvents in batch mode
 * (`POST /_gust/events/TOPIC`, application/cloudevents-batch+json, `publishBatch` events a request)
 * from `senders` concurrent senders. One platform, two subscribers of two topics: `sub1` with
 * `batch: 1` and `sub10` with `batch: 10`, each `concurrency: 100` (or as told), `scale: {min: 1, max: 1}` (one
 * warm instance: on 2 cores more processes only compete). A round times `events` events from the
 * first publish sent to the moment its queue is empty (every message acked: the platform's
 * SQLite file is read, read-only, every 5 ms); the lag accept -> start of each invocation is its
 * record's `queuedMs` (read through the records API). Beside them, in the same run, a bare SQLite
 * file (WAL, synchronous = NORMAL, as the platform's) takes the same inserts in the same
 * transaction sizes, alone and with the claim and delete that consuming them needs at least.
 * Rounds alternate: sqlite, batch 1, batch 10, sqlite, ...
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { apiGet, startGust, tempDir, writeProject } from '../lib/gust.mjs';
import { stop } from '../lib/procs.mjs';
import { median, percentile } from '../lib/stats.mjs';
import { fmt, table } from '../lib/table.mjs';

const HANDLER = 'export const handler = async () => {};\n';
const subscriber = (name, topic, batch, concurrency) => `  ${name}:
    handler: sub.mjs
    concurrency: ${concurrency}
    scale: { min: 1, max: 1 }
    triggers:
      - topic: { name: ${topic}, batch: ${batch} }
`;
const manifest = (concurrency) => `topics: [t1, t10]
functions:
${subscriber('sub1', 't1', 1, concurrency)}${subscriber('sub10', 't10', 10, concurrency)}`;
const TARGETS = [
  { name: 'batch1', fn: 'sub1', topic: 't1', batch: 1 },
  { name: 'batch10', fn: 'sub10', topic: 't10', batch: 10 },
];
const POLL_MS = 5;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function asyncThroughput({
  rounds,
  events,
  publishBatch,
  senders,
  concurrency = 100,
  progress,
  nodeArgs = [],
}) {
  progress('async: platform with two subscribers (batch 1, batch 10)');
  const dir = await writeProject({ 'gust.yaml': manifest(concurrency), 'sub.mjs': HANDLER });
  const g = await startGust({ dir, nodeArgs });
  // The probe: whether a function's queue is empty, read from the platform's own file (WAL lets a
  // reader in beside the writer; the API does not show queue depth).
  let probe;
  try {
    for (const t of TARGETS) await waitForInstance(g, t.fn);
    probe = new Database(path.join(g.dataDir, 'gust.db'), { readonly: true, fileMustExist: true });
    const left = probe.prepare('SELECT COUNT(*) AS n FROM queue WHERE queue = ?');
    const pending = (fn) => left.get(`fn.${fn}`).n;
    const runs = { sqlite: [], batch1: [], batch10: [] };
    // unmeasured warm-up of each path
    for (const t of TARGETS) await oneRound(g, t, { events: 2000, publishBatch, senders, pending });
    for (let round = 1; round <= rounds; round++) {
      progress(`async round ${round}/${rounds}: bare sqlite (${events} events)`);
      runs.sqlite.push({ round, ...(await bareSqlite({ events, publishBatch })) });
      for (const t of TARGETS) {
        progress(`async round ${round}/${rounds}: gust ${t.name} (${events} events)`);
        runs[t.name].push({ round, ...(await oneRound(g, t, { events, publishBatch, senders, pending })) });
      }
    }
    const m = (name, key) => median(runs[name].map((r) => r[key]));
    const result = { events, publishBatch, senders, concurrency, rounds, runs };
    result.sqlite = {
      insertsPerS: m('sqlite', 'insertsPerS'),
      queue1PerS: m('sqlite', 'queue1PerS'),
      queue10PerS: m('sqlite', 'queue10PerS'),
    };
    for (const t of TARGETS) {
      const baseline = t.batch === 1 ? result.sqlite.queue1PerS : result.sqlite.queue10PerS;
      result[t.name] = {
        eventsPerS: m(t.name, 'eventsPerS'),
        acceptedPerS: m(t.name, 'acceptedPerS'),
        lagP50Ms: m(t.name, 'lagP50Ms'),
        lagP99Ms: m(t.name, 'lagP99Ms'),
        platformUsPerEvent: m(t.name, 'platformUsPerEvent'),
        instancesUsPerEvent: m(t.name, 'instancesUsPerEvent'),
      };
      result[t.name].ratioInserts = result[t.name].eventsPerS / result.sqlite.insertsPerS;
      result[t.name].ratioQueue = result[t.name].eventsPerS / baseline;
    }
    return result;
  } finally {
    probe?.close();
    await stop(g.proc);
  }
}

/** `events` events published to the target's topic; the clock stops when its queue is empty. */
async function oneRound(g, t, { events, publishBatch, senders, pending }) {
  const since = new Date(Date.now() - 1).toISOString();
  const cpuBefore = cpuOf(g.proc.child.pid);
  const started = performance.now();
  let next = 0;
  let refused = 0;
  const sender = async () => {
    while (next < events) {
      const n = Math.min(publishBatch, events - next);
      const first = next;
      next += n;
      const body = JSON.stringify(
        Array.from({ length: n }, (_, i) => ({
          specversion: '1.0',
          id: `e${first + i}`,
          source: '/bench',
          type: 'bench.event',
          datacontenttype: 'application/json',
          data: { n: first + i },
        })),
      );
      for (;;) {
        const res = await fetch(`${g.url}/_gust/events/${t.topic}`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${g.key}`,
            'content-type': 'application/cloudevents-batch+json',
          },
          body,
        });
        const text = await res.text();
        if (res.status === 202) break;
        if (res.status !== 429 && res.status !== 503)
          throw new Error(`publish answered ${res.status}: ${text}`);
        refused++;
        await sleep(10); // a full queue: retry, as a sender does
      }
    }
  };
  await Promise.all(Array.from({ length: senders }, sender));
  const acceptedMs = performance.now() - started;
  const until = Date.now() + 120_000;
  while (pending(t.fn) > 0) {
    if (Date.now() > until) throw new Error(`${t.fn}: its queue did not empty within 120 s`);
    await sleep(POLL_MS);
  }
  const elapsedMs = performance.now() - started;
  const cpuAfter = cpuOf(g.proc.child.pid);
  const records = await recordsSince(g, t.fn, since);
  const delivered = records.length;
  const notOk = records.filter((r) => r.status !== 'ok').length;
  if (notOk > 0) throw new Error(`${t.fn}: ${notOk} invocations were not ok`);
  const lags = records.map((r) => r.queuedMs);
  return {
    eventsPerS: (events / elapsedMs) * 1000,
    acceptedPerS: (events / acceptedMs) * 1000,
    elapsedMs,
    invocations: delivered,
    refused,
    lagP50Ms: percentile(lags, 50),
    lagP99Ms: percentile(lags, 99),
    runMeanMs: records.reduce((n, r) => n + r.durationMs, 0) / records.length,
    // how long an invocation took once it had its instance (records' durationMs): the round trip
    runP50Ms: percentile(
      records.map((r) => r.durationMs),
      50,
    ),
    // CPU time per event (user + system), of the platform process and of its instances: what the
    // machine's other load does not move, unlike events/s
    platformUsPerEvent: ((cpuAfter.platform - cpuBefore.platform) / events) * 1000,
    instancesUsPerEvent: ((cpuAfter.children - cpuBefore.children) / events) * 1000,
  };
}

const TICK_MS = 10; // USER_HZ is 100 on Linux
/** CPU ms so far of a process and of its descendants (instances, stem cells), from /proc. */
function cpuOf(pid) {
  const stats = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), { ppid: Number(f[1]), ms: (Number(f[11]) + Number(f[12])) * TICK_MS });
    } catch {
      // gone meanwhile
    }
  }
  const under = (p) => [...stats].filter(([, s]) => s.ppid === p).map(([child]) => child);
  let children = 0;
  const todo = under(pid);
  while (todo.length > 0) {
    const child = todo.pop();
    children += stats.get(child).ms;
    todo.push(...under(child));
  }
  return { platform: stats.get(pid)?.ms ?? 0, children };
}

/** Every record of `fn` since `since`, through the records API, 1000 a page. */
async function recordsSince(g, fn, since) {
  const out = [];
  let cursor = '';
  for (let page = 0; page < 10_000; page++) {
    const q = `/functions/${fn}/invocations?limit=1000&since=${encodeURIComponent(since)}${cursor ? `&cursor=${cursor}` : ''}`;
    const body = await apiGet(g, q);
    out.push(...body.invocations);
    if (!body.cursor) return out;
    cursor = body.cursor;
  }
  throw new Error('too many pages of records');
}

async function waitForInstance(g, fn) {
  const until = Date.now() + 30_000;
  while ((await apiGet(g, `/functions/${fn}`)).instances < 1) {
    if (Date.now() > until) throw new Error(`${fn} has no warm instance after 30 s`);
    await sleep(50);
  }
}

/**
 * The same events in a bare SQLite file of its own (the platform's queue table and pragmas):
 * inserts alone in transactions of `publishBatch`, and the least a queue does with them: the same
 * inserts, then claim (select the oldest `batch`, mark them leased) and delete them, `batch` at a
 * time, each step its own transaction as an ack is.
 */
async function bareSqlite({ events, publishBatch }) {
  const dir = await tempDir('gust-bench-async-');
  const out = {};
  const body = JSON.stringify({ v: 1, function: 'sub', trigger: 'topic', data: { n: 0 } }).padEnd(400, ' ');
  for (const [key, batch] of [
    ['insertsPerS', 0],
    ['queue1PerS', 1],
    ['queue10PerS', 10],
  ]) {
    const db = new Database(path.join(dir, `${key}.db`));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`CREATE TABLE queue (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, queue TEXT NOT NULL,
      body TEXT NOT NULL, attempt INTEGER NOT NULL, enqueued_at INTEGER NOT NULL, ready_at INTEGER NOT NULL,
      leased INTEGER NOT NULL DEFAULT 0, UNIQUE (queue, id));
      CREATE INDEX queue_ready ON queue (queue, ready_at, seq);`);
    const insert = db.prepare(
      'INSERT OR IGNORE INTO queue (id, queue, body, attempt, enqueued_at, ready_at) VALUES (?, ?, ?, 0, ?, ?)',
    );
    const ready = db.prepare(
      'SELECT seq, body FROM queue WHERE queue = ? AND ready_at <= ? ORDER BY ready_at, seq LIMIT ?',
    );
    const lease = db.prepare(
      'UPDATE queue SET attempt = attempt + 1, ready_at = ?, leased = 1 WHERE seq = ?',
    );
    const del = db.prepare('DELETE FROM queue WHERE seq = ?');
    const started = performance.now();
    for (let i = 0; i < events; i += publishBatch) {
      db.transaction(() => {
        const now = Date.now();
        for (let j = i; j < Math.min(events, i + publishBatch); j++)
          insert.run(`m${j}`, 'fn.sub', body, now, now);
      })();
    }
    if (batch > 0) {
      for (;;) {
        const rows = db.transaction(() => {
          const now = Date.now();
          const found = ready.all('fn.sub', now, batch);
          for (const r of found) lease.run(now + 60_000, r.seq);
          return found;
        })();
        if (rows.length === 0) break;
        db.transaction(() => {
          for (const r of rows) del.run(r.seq);
        })();
      }
    }
    out[key] = (events / (performance.now() - started)) * 1000;
    db.close();
  }
  return out;
}

/** The table of an asyncThroughput result. */
export function printAsync(a, heading = '') {
  console.log(
    `${heading}Async throughput: ${a.events} events a round, published in batches of ${a.publishBatch} (CloudEvents batch mode) by ${a.senders} senders, first publish -> queue empty`,
  );
  const rows = [];
  for (let i = 0; i < a.rounds; i++) {
    const s = a.runs.sqlite[i];
    rows.push([
      'bare sqlite: inserts / +claim+delete by 1 / by 10',
      String(s.round),
      `${fmt(s.insertsPerS, 0)} / ${fmt(s.queue1PerS, 0)} / ${fmt(s.queue10PerS, 0)}`,
      '-',
      '-',
      '-',
      '-',
    ]);
    for (const t of TARGETS) {
      const r = a.runs[t.name][i];
      rows.push([
        `gust topic, batch ${t.batch}`,
        String(r.round),
        fmt(r.eventsPerS, 0),
        fmt(r.acceptedPerS, 0),
        fmt(r.lagP50Ms, 1),
        fmt(r.lagP99Ms, 1),
        `${fmt(r.platformUsPerEvent, 0)} + ${fmt(r.instancesUsPerEvent, 0)}`,
      ]);
    }
  }
  rows.push([
    'bare sqlite, median',
    '-',
    `${fmt(a.sqlite.insertsPerS, 0)} / ${fmt(a.sqlite.queue1PerS, 0)} / ${fmt(a.sqlite.queue10PerS, 0)}`,
    '-',
    '-',
    '-',
    '-',
  ]);
  for (const t of TARGETS) {
    const s = a[t.name];
    rows.push([
      `gust topic, batch ${t.batch}, median`,
      '-',
      fmt(s.eventsPerS, 0),
      fmt(s.acceptedPerS, 0),
      fmt(s.lagP50Ms, 1),
      fmt(s.lagP99Ms, 1),
      `${fmt(s.platformUsPerEvent, 0)} + ${fmt(s.instancesUsPerEvent, 0)}`,
    ]);
  }
  console.log(
    table(['target', 'round', 'events/s', 'accepted/s', 'lag p50 ms', 'lag p99 ms', 'CPU us/event'], rows),
  );
  console.log('(CPU us/event: the platform process + its instances, user + system time)');
  for (const t of TARGETS) {
    const s = a[t.name];
    const verdict =
      s.eventsPerS >= 20_000 ? 'meets aim' : s.eventsPerS >= 5000 ? 'meets target' : 'MISSES target';
    console.log(
      `batch ${t.batch}: ${fmt(s.eventsPerS, 0)} events/s (target >= 5000, aim 20000: ${verdict}); ratio to bare sqlite inserts ${fmt(s.ratioInserts, 3)}, to insert+claim+delete by ${t.batch} ${fmt(s.ratioQueue, 3)}`,
    );
  }
}
