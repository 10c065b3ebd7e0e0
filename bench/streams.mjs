/**
 * The stream-trigger bench (a few minutes): messages per second end to end, broker -> function ran
 * -> acknowledged, for MQTT (QoS 1, Mosquitto on 127.0.0.1:1883), NATS JetStream and core NATS
 * (127.0.0.1:4222) and AMQP (RabbitMQ on 127.0.0.1:5672, guest/guest), each with batch 1 and batch
 * 100, beside a bare client of the same library consuming the same number of messages in the same
 * run with the same ack semantics (acked after its batch, message by message, with the same bound
 * on unacked messages). Rounds alternate, bare then gust, per target. With `mosquitto` installed,
 * also MQTT on a Mosquitto of the bench's own (a free port, no persistence, `max_inflight_messages 0`
 * and `max_queued_messages 0`, as the README advises for big batches) beside the machine's, which
 * keeps Mosquitto's defaults.
 *
 * A gust round: N messages published with the same library (MQTT: at most BENCH_STREAM_AHEAD
 * published and not yet handled, because Mosquitto drops QoS 1 messages queued beyond its
 * `max_queued_messages`, 1000 by default; the others as fast as the library publishes); the clock
 * runs from the first publish to the moment the function has run for all N (its records: each run
 * logs how many messages it got, read from the platform's SQLite file, read-only), the function's
 * queue is empty (every batch acked off it, which is when Gust acks it to the broker), and the
 * broker says so where it can: JetStream's consumer has nothing pending or unacked, AMQP's queue
 * has no ready message (its unacked count is checked after the round with rabbitmqctl, when it is
 * there). A bare round: the same, with the bench's own consumer counting the messages it acked.
 *
 * Settings: BENCH_ROUNDS (3), BENCH_STREAM_MESSAGES (10000 a round and target),
 * BENCH_STREAM_WINDOW (100 ms, the `window` of the batch-100 triggers), BENCH_STREAM_AHEAD (500),
 * BENCH_STREAM_TARGETS (a comma list of protocols to keep: mqtt, mqtt-own, nats-js, nats-core, amqp).
 * Writes bench/results/streams.json. Every topic, stream, consumer, queue and session it makes
 * has a unique name and is removed at the end, also on error.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { nanos, connect as natsConnect } from '@nats-io/transport-node';
import { connect as amqpConnect } from 'amqplib';
import Database from 'better-sqlite3';
import { connectAsync as mqttConnect } from 'mqtt';
import { brokerName } from '../dist/triggers/stream/source.js';
import { ROOT, removeTempDirs, startGust, tempDir, writeProject } from './lib/gust.mjs';
import { printHeader } from './lib/header.mjs';
import { start, stopAll } from './lib/procs.mjs';
import { int } from './lib/settings.mjs';
import { median } from './lib/stats.mjs';
import { fmt, table } from './lib/table.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROUNDS = int('BENCH_ROUNDS', 3);
const MESSAGES = int('BENCH_STREAM_MESSAGES', 10_000);
const WINDOW_MS = int('BENCH_STREAM_WINDOW', 100);
const AHEAD = int('BENCH_STREAM_AHEAD', 500);
const WARMUP = 200;
const ROUND_TIMEOUT_MS = 180_000;
const POLL_MS = 5;
/** The functions' capacity: concurrency 100 on one instance, so 32 batches in flight (source.ts). */
const CONCURRENCY = 100;
const inFlightOf = (batch) => Math.min(10_000, batch * Math.min(32, Math.max(2, CONCURRENCY)));

const P = `gb${randomBytes(4).toString('hex')}`;
const URLS = {
  mqtt: 'mqtt://127.0.0.1:1883',
  nats: 'nats://127.0.0.1:4222',
  amqp: 'amqp://guest:guest@127.0.0.1:5672',
};
const HANDLER =
  "export const handler = async (e) => { console.log('n=' + (Array.isArray(e) ? e.length : 1)); };\n";
/** Set by SIGINT/SIGTERM: the next wait throws, and the cleanup runs. */
let aborted;
const sleep = (ms) => {
  if (aborted) throw new Error(`interrupted (${aborted})`);
  return new Promise((r) => setTimeout(r, ms));
};
const progress = (text) => process.stderr.write(`  .. ${text}\n`);

/** The targets: protocol x batch. `where` names what each consumes (gust's and the bare client's). */
function targetsFor(protocols) {
  const all = [];
  for (const protocol of protocols) {
    for (const batch of [1, 100]) {
      const id = `${protocol}-b${batch}`;
      const t = { id, protocol, batch, fn: id, windowMs: batch === 1 ? 1000 : WINDOW_MS };
      if (protocol === 'mqtt' || protocol === 'mqtt-own') {
        t.gust = `${P}/${protocol}/gust/b${batch}`;
        t.bare = `${P}/${protocol}/bare/b${batch}`;
      } else if (protocol === 'amqp') {
        t.gust = `${P}-gust-b${batch}`;
        t.bare = `${P}-bare-b${batch}`;
      } else {
        t.gust = `${P}.${protocol}.gust.b${batch}`;
        t.bare = `${P}.${protocol}.bare.b${batch}`;
      }
      all.push(t);
    }
  }
  return all;
}

function manifest(targets) {
  const lines = ['functions:'];
  for (const t of targets) {
    const connection =
      { mqtt: 'MQTT_URL', 'mqtt-own': 'MQTT_OWN_URL', amqp: 'AMQP_URL' }[t.protocol] ?? 'NATS_URL';
    const from = t.protocol.startsWith('mqtt') ? 'mqtt' : t.protocol.startsWith('nats') ? 'nats' : 'amqp';
    const what =
      from === 'amqp'
        ? `queue: ${t.gust}`
        : t.protocol === 'nats-js'
          ? `stream: ${P}, subject: "${t.gust}"`
          : `subject: "${t.gust}"`;
    t.trigger = { from, connection, what };
    lines.push(
      `  ${t.fn}:`,
      '    handler: count.mjs',
      `    concurrency: ${CONCURRENCY}`,
      '    scale: { min: 1, max: 1 }',
      '    triggers:',
      `      - stream: { from: ${from}, connection: ${connection}, ${what}, batch: ${t.batch}, window: ${t.windowMs}ms }`,
    );
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------- brokers: publishers and cleanup

class Brokers {
  constructor(mqttOwnUrl) {
    this.mqttOwnUrl = mqttOwnUrl;
    this.made = { jsStream: false, queues: new Set(), mqttSessions: new Set() };
  }

  async open(targets) {
    const protocols = new Set(targets.map((t) => t.protocol));
    if (protocols.has('mqtt'))
      this.mqtt = await mqttConnect(URLS.mqtt, { clientId: `${P}-pub`, clean: true });
    if (protocols.has('mqtt-own'))
      this.mqttOwn = await mqttConnect(this.mqttOwnUrl, { clientId: `${P}-pub`, clean: true });
    if (protocols.has('nats-js') || protocols.has('nats-core')) {
      this.nc = await natsConnect({ servers: '127.0.0.1:4222', name: `${P}-bench` });
      this.js = jetstream(this.nc);
      this.jsm = await jetstreamManager(this.nc);
      if (protocols.has('nats-js')) {
        this.made.jsStream = true;
        await this.jsm.streams.add({ name: P, subjects: [`${P}.nats-js.>`] });
      }
    }
    if (protocols.has('amqp')) {
      this.amqp = await amqpConnect(URLS.amqp);
      this.ch = await this.amqp.createChannel();
      for (const t of targets.filter((x) => x.protocol === 'amqp')) {
        for (const q of [t.gust, t.bare]) {
          this.made.queues.add(q);
          await this.ch.assertQueue(q, { durable: true });
        }
      }
    }
  }

  /** Publishes n messages to `where`; `ahead()` says how many may be sent now (MQTT flow control). */
  async publish(t, where, n, handled) {
    const body = (i) => Buffer.from(JSON.stringify({ i, at: Date.now() }));
    if (t.protocol === 'mqtt' || t.protocol === 'mqtt-own') {
      const client = t.protocol === 'mqtt' ? this.mqtt : this.mqttOwn;
      const until = Date.now() + ROUND_TIMEOUT_MS;
      let sent = 0;
      const inFlight = new Set();
      while (sent < n) {
        if (sent - handled() >= AHEAD || inFlight.size >= 100) {
          if (inFlight.size >= 100) await Promise.race(inFlight);
          else await sleep(1);
          if (Date.now() > until) throw new Error(`${t.id}: publishing stalled (${sent} of ${n} sent)`);
          continue;
        }
        const p = client.publishAsync(where, body(sent), { qos: 1 }).finally(() => inFlight.delete(p));
        inFlight.add(p);
        sent++;
      }
      await Promise.all(inFlight);
    } else if (t.protocol === 'nats-js') {
      const inFlight = new Set();
      for (let i = 0; i < n; i++) {
        if (inFlight.size >= 256) await Promise.race(inFlight);
        const p = this.js.publish(where, body(i)).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await Promise.all(inFlight);
    } else if (t.protocol === 'nats-core') {
      for (let i = 0; i < n; i++) {
        this.nc.publish(where, body(i));
        if (i % 500 === 499) await this.nc.flush();
      }
      await this.nc.flush();
    } else {
      for (let i = 0; i < n; i++) {
        if (!this.ch.sendToQueue(where, body(i), { persistent: true, contentType: 'application/json' }))
          await new Promise((r) => this.ch.once('drain', r));
      }
    }
  }

  /** Whether the broker says every message of `where` is acked (where it can say so). */
  async settled(t, where, consumer) {
    if (t.protocol === 'nats-js') {
      const info = await this.jsm.consumers.info(P, consumer);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }
    if (t.protocol === 'amqp') return (await this.ch.checkQueue(where)).messageCount === 0;
    return true;
  }

  async close() {
    const errors = [];
    const attempt = async (what, fn) => {
      try {
        await fn();
      } catch (e) {
        errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
    // persistent MQTT sessions (Gust's and the bare clients'): a clean start with expiry 0 ends them
    for (const [url, clientId] of this.made.mqttSessions) {
      await attempt(`MQTT session ${clientId}`, async () => {
        const c = await mqttConnect(url, {
          clientId,
          clean: true,
          protocolVersion: 5,
          properties: { sessionExpiryInterval: 0 },
          connectTimeout: 5000,
          reconnectPeriod: 0,
        });
        await c.endAsync();
      });
    }
    await attempt('MQTT publisher', () => this.mqtt?.endAsync());
    await attempt('MQTT publisher (own broker)', () => this.mqttOwn?.endAsync());
    if (this.made.jsStream) await attempt(`JetStream stream ${P}`, () => this.jsm.streams.delete(P));
    await attempt('NATS', () => this.nc?.close());
    for (const q of this.made.queues) await attempt(`AMQP queue ${q}`, () => this.ch.deleteQueue(q));
    await attempt('AMQP', () => this.amqp?.close());
    return errors;
  }
}

// ---------------------------------------------------------------- bare clients

/**
 * A bare consumer of the same library: batches of up to `batch` messages or `windowMs`, whichever
 * first, each message acked once its batch is complete (as Gust acks after the function), at most
 * `inFlight` unacked. `count()` is how many it acked.
 */
async function bareConsumer(t, brokers) {
  const inFlight = inFlightOf(t.batch);
  let acked = 0;
  let batch = [];
  let timer;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    const done = batch;
    batch = [];
    for (const ack of done) ack();
    acked += done.length;
  };
  const take = (ack) => {
    batch.push(ack);
    if (batch.length >= t.batch) flush();
    else timer ??= setTimeout(flush, t.windowMs);
  };
  let close;
  if (t.protocol === 'mqtt' || t.protocol === 'mqtt-own') {
    const url = t.protocol === 'mqtt' ? URLS.mqtt : brokers.mqttOwnUrl;
    const clientId = `${P}-bare-${t.id}`;
    if (t.protocol === 'mqtt') brokers.made.mqttSessions.add([url, clientId]);
    const deferred = new Error('PUBACK deferred');
    const client = await mqttConnect(url, {
      clientId,
      clean: false,
      protocolVersion: 5,
      reconnectPeriod: 0,
      properties: { sessionExpiryInterval: 600, receiveMaximum: inFlight },
    });
    // as Gust does (src/triggers/stream/mqtt.ts): the PUBACK is sent when the batch is done
    client.handleMessage = (packet, callback) => {
      const messageId = packet.messageId;
      take(() => client._sendPacket({ cmd: 'puback', messageId }, () => {}));
      callback(deferred);
    };
    await client.subscribeAsync(t.bare, { qos: 1 });
    close = () => client.endAsync(true);
  } else if (t.protocol === 'nats-js') {
    const nc = await natsConnect({ servers: '127.0.0.1:4222', name: `${P}-bare-${t.id}` });
    const name = `${P}-bare-${t.id}`;
    await brokers.jsm.consumers.add(P, {
      durable_name: name,
      deliver_policy: DeliverPolicy.All,
      ack_policy: AckPolicy.Explicit,
      filter_subject: t.bare,
      max_ack_pending: inFlight,
      ack_wait: nanos(60_000),
      max_deliver: -1,
    });
    t.bareConsumer = name;
    const consumer = await jetstream(nc).consumers.get(P, name);
    const messages = await consumer.consume({ max_messages: inFlight });
    void (async () => {
      for await (const m of messages) take(() => m.ack());
    })().catch(() => {});
    close = async () => {
      messages.stop();
      await nc.close();
    };
  } else if (t.protocol === 'nats-core') {
    const nc = await natsConnect({ servers: '127.0.0.1:4222', name: `${P}-bare-${t.id}` });
    nc.subscribe(t.bare, { callback: (err) => !err && take(() => {}) });
    await nc.flush();
    close = () => nc.close();
  } else {
    const conn = await amqpConnect(URLS.amqp);
    const ch = await conn.createChannel();
    await ch.prefetch(Math.min(65_535, inFlight));
    await ch.consume(t.bare, (m) => m && take(() => ch.ack(m)), { noAck: false });
    close = () => conn.close();
  }
  return { count: () => acked, close };
}

// ---------------------------------------------------------------- rounds

/** How many messages each function handled: the `n=` its runs logged, read as records are written. */
function recordReader(db) {
  const rows = db.prepare('SELECT seq, function, status, logs FROM invocations WHERE seq > ? ORDER BY seq');
  const handled = new Map();
  const notOk = new Map();
  let last = 0;
  return {
    read() {
      for (const r of rows.iterate(last)) {
        last = r.seq;
        if (r.status !== 'ok') {
          notOk.set(r.function, (notOk.get(r.function) ?? 0) + 1);
          continue;
        }
        const m = /n=(\d+)/.exec(r.logs);
        handled.set(r.function, (handled.get(r.function) ?? 0) + (m ? Number(m[1]) : 0));
      }
    },
    handled: (fn) => handled.get(fn) ?? 0,
    notOk: (fn) => notOk.get(fn) ?? 0,
  };
}

async function gustRound(t, n, { brokers, records, queueDepth }) {
  records.read();
  const before = records.handled(t.fn);
  const failedBefore = records.notOk(t.fn);
  const handled = () => {
    records.read();
    return records.handled(t.fn) - before;
  };
  const started = performance.now();
  await brokers.publish(t, t.gust, n, handled);
  const publishedMs = performance.now() - started;
  const until = Date.now() + ROUND_TIMEOUT_MS;
  for (;;) {
    if (handled() >= n && queueDepth(t.fn) === 0 && (await brokers.settled(t, t.gust, t.gustConsumer))) break;
    if (Date.now() > until)
      throw new Error(`${t.id}: gust handled ${handled()} of ${n} within ${ROUND_TIMEOUT_MS / 1000} s`);
    await sleep(POLL_MS);
  }
  const elapsedMs = performance.now() - started;
  await sleep(50); // late duplicates, if any, are counted
  return {
    perS: (n / elapsedMs) * 1000,
    elapsedMs,
    publishedPerS: (n / publishedMs) * 1000,
    extra: handled() - n,
    failed: records.notOk(t.fn) - failedBefore,
  };
}

async function bareRound(t, n, { brokers, bare }) {
  const before = bare.count();
  const handled = () => bare.count() - before;
  const started = performance.now();
  await brokers.publish(t, t.bare, n, handled);
  const publishedMs = performance.now() - started;
  const until = Date.now() + ROUND_TIMEOUT_MS;
  for (;;) {
    if (handled() >= n && (await brokers.settled(t, t.bare, t.bareConsumer))) break;
    if (Date.now() > until)
      throw new Error(
        `${t.id}: the bare client acked ${handled()} of ${n} within ${ROUND_TIMEOUT_MS / 1000} s`,
      );
    await sleep(POLL_MS);
  }
  const elapsedMs = performance.now() - started;
  await sleep(50);
  return {
    perS: (n / elapsedMs) * 1000,
    elapsedMs,
    publishedPerS: (n / publishedMs) * 1000,
    extra: handled() - n,
  };
}

/** messages_unacknowledged of the bench's AMQP queues, through rabbitmqctl when it can be run. */
function amqpUnacked() {
  try {
    const out = execFileSync('rabbitmqctl', ['-q', 'list_queues', 'name', 'messages_unacknowledged'], {
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const unacked = {};
    for (const line of out.split('\n')) {
      const [name, count] = line.trim().split(/\s+/);
      if (name?.startsWith(P)) unacked[name] = Number(count);
    }
    return unacked;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- an own Mosquitto

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function ownMosquitto() {
  if (spawnSync('sh', ['-c', 'command -v mosquitto']).status !== 0) return undefined;
  const dir = await tempDir('gust-bench-mosquitto-');
  await chmod(dir, 0o777); // started as root, mosquitto drops to its own user
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 0\nmax_queued_messages 0\n`,
  );
  const proc = start('mosquitto', ['-c', conf]);
  const until = Date.now() + 10_000;
  while (!(await listening(port))) {
    if (Date.now() > until) throw new Error(`the bench's own mosquitto did not listen: ${proc.tail()}`);
    await sleep(50);
  }
  return `mqtt://127.0.0.1:${port}`;
}

function listening(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

// ---------------------------------------------------------------- main

async function setSecret(g, name, value) {
  const res = await fetch(`${g.url}/_gust/api/v1/secrets/${name}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${g.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ value }),
  });
  if (res.status !== 200) throw new Error(`setting ${name} answered ${res.status}: ${await res.text()}`);
}

async function deploy(g, dir) {
  execFileSync(process.execPath, [path.join(ROOT, 'bin', 'gust.js'), 'deploy', dir], {
    env: {
      PATH: process.env.PATH ?? '',
      XDG_CONFIG_HOME: await tempDir('gust-bench-config-'),
      GUST_URL: g.url,
      GUST_API_KEY: g.key,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

async function waitRunning(g, fns) {
  const until = Date.now() + 60_000;
  for (;;) {
    const states = await Promise.all(
      fns.map(async (fn) => {
        const res = await fetch(`${g.url}/_gust/api/v1/functions/${fn}`, {
          headers: { authorization: `Bearer ${g.key}` },
        });
        const body = await res.json();
        return { fn, instances: body.instances, sources: body.sources ?? [] };
      }),
    );
    const waiting = states.filter((s) => s.instances < 1 || s.sources.some((x) => x.state !== 'running'));
    if (waiting.length === 0) return;
    if (Date.now() > until)
      throw new Error(`not running after 60 s: ${JSON.stringify(waiting.map((w) => [w.fn, w.sources]))}`);
    await sleep(100);
  }
}

async function main() {
  const wanted = (process.env.BENCH_STREAM_TARGETS ?? 'mqtt,mqtt-own,nats-js,nats-core,amqp').split(',');
  printHeader('stream', 'npm run build && node bench/streams.mjs');
  console.log(
    `settings:  ${MESSAGES} messages a round, ${ROUNDS} rounds (bare, gust alternating), batch-100 window ${WINDOW_MS} ms, MQTT publisher at most ${AHEAD} ahead\n`,
  );
  let mqttOwnUrl;
  if (wanted.includes('mqtt-own')) {
    mqttOwnUrl = await ownMosquitto();
    if (!mqttOwnUrl) progress('mosquitto is not installed: no mqtt-own target');
  }
  const protocols = wanted.filter((p) => p !== 'mqtt-own' || mqttOwnUrl);
  const targets = targetsFor(protocols);
  const brokers = new Brokers(mqttOwnUrl);
  let g;
  let probe;
  const bares = [];
  let cleanupErrors = [];
  try {
    await brokers.open(targets);
    progress(`gust up, ${targets.length} functions with stream triggers`);
    g = await startGust({ dir: await tempDir('gust-bench-empty-') });
    await setSecret(g, 'MQTT_URL', URLS.mqtt);
    if (mqttOwnUrl) await setSecret(g, 'MQTT_OWN_URL', mqttOwnUrl);
    await setSecret(g, 'NATS_URL', URLS.nats);
    await setSecret(g, 'AMQP_URL', URLS.amqp);
    const text = manifest(targets);
    await deploy(g, await writeProject({ 'gust.yaml': text, 'count.mjs': HANDLER }));
    for (const t of targets) {
      const trigger = {
        type: 'stream',
        from: t.trigger.from,
        connection: t.trigger.connection,
        subject: t.gust,
        ...(t.protocol === 'nats-js' ? { stream: P } : {}),
      };
      const name = brokerName(t.fn, trigger);
      if (t.protocol === 'nats-js') t.gustConsumer = name;
      // (the bench's own Mosquitto keeps nothing on disk and is gone with the bench)
      if (t.protocol === 'mqtt') brokers.made.mqttSessions.add([URLS.mqtt, name]);
    }
    await waitRunning(
      g,
      targets.map((t) => t.fn),
    );
    if (targets.some((t) => t.protocol === 'nats-js')) {
      // the consumer's name as Gust made it (brokerName), checked
      const names = [];
      for await (const c of brokers.jsm.consumers.list(P)) names.push(c.name);
      for (const t of targets.filter((x) => x.protocol === 'nats-js'))
        if (!names.includes(t.gustConsumer))
          throw new Error(`no JetStream consumer ${t.gustConsumer} (there are ${names.join(', ')})`);
    }
    probe = new Database(path.join(g.dataDir, 'gust.db'), { readonly: true, fileMustExist: true });
    const depth = probe.prepare('SELECT COUNT(*) AS n FROM queue WHERE queue = ?');
    const ctx = { brokers, records: recordReader(probe), queueDepth: (fn) => depth.get(`fn.${fn}`).n };
    const runs = {};
    for (const t of targets) {
      const bare = await bareConsumer(t, brokers);
      bares.push(bare);
      runs[t.id] = { bare: [], gust: [] };
      progress(`${t.id}: warm-up (${WARMUP} messages each)`);
      await bareRound(t, WARMUP, { brokers, bare });
      await gustRound(t, WARMUP, ctx);
      for (let round = 1; round <= ROUNDS; round++) {
        const b = await bareRound(t, MESSAGES, { brokers, bare });
        runs[t.id].bare.push(b);
        const gr = await gustRound(t, MESSAGES, ctx);
        runs[t.id].gust.push(gr);
        progress(
          `${t.id} round ${round}/${ROUNDS}: bare ${b.perS.toFixed(0)}/s, gust ${gr.perS.toFixed(0)}/s (published at ${gr.publishedPerS.toFixed(0)}/s)`,
        );
      }
    }
    const unacked = targets.some((t) => t.protocol === 'amqp') ? amqpUnacked() : undefined;
    const result = {
      date: new Date().toISOString(),
      messages: MESSAGES,
      rounds: ROUNDS,
      windowMs: WINDOW_MS,
    };
    result.targets = targets.map((t) => {
      const r = runs[t.id];
      const bare = median(r.bare.map((x) => x.perS));
      const gust = median(r.gust.map((x) => x.perS));
      return {
        id: t.id,
        protocol: t.protocol,
        batch: t.batch,
        inFlight: inFlightOf(t.batch),
        bare,
        gust,
        ratio: gust / bare,
        gustPublishedPerS: median(r.gust.map((x) => x.publishedPerS)),
        gustExtra: r.gust.reduce((s, x) => s + x.extra, 0),
        gustFailed: r.gust.reduce((s, x) => s + x.failed, 0),
        bareExtra: r.bare.reduce((s, x) => s + x.extra, 0),
        runs: r,
      };
    });
    result.amqpUnackedAfter = unacked ?? null;
    print(result);
    await mkdir(path.join(HERE, 'results'), { recursive: true });
    const micro = (_key, v) => (typeof v === 'number' ? Math.round(v * 1000) / 1000 : v);
    await writeFile(path.join(HERE, 'results', 'streams.json'), `${JSON.stringify(result, micro, 2)}\n`);
    console.log('\nwritten: bench/results/streams.json');
  } finally {
    probe?.close();
    for (const b of bares) await b.close().catch(() => {});
    await stopAll(); // gust (its sessions close), then the broker state it and the bare clients left
    cleanupErrors = await brokers.close();
    await removeTempDirs();
    if (cleanupErrors.length > 0) process.stderr.write(`cleanup: ${cleanupErrors.join('; ')}\n`);
  }
}

const LABEL = {
  mqtt: 'MQTT QoS 1 (:1883, defaults)',
  'mqtt-own': 'MQTT QoS 1 (own, no inflight cap)',
  'nats-js': 'NATS JetStream',
  'nats-core': 'NATS core',
  amqp: 'AMQP (RabbitMQ)',
};

function print(result) {
  const rows = result.targets.map((t) => [
    LABEL[t.protocol],
    String(t.batch),
    t.runs.bare.map((x) => fmt(x.perS, 0)).join(' '),
    t.runs.gust.map((x) => fmt(x.perS, 0)).join(' '),
    fmt(t.bare, 0),
    fmt(t.gust, 0),
    fmt(t.ratio, 2),
  ]);
  console.log(
    table(['target', 'batch', 'bare msg/s per round', 'gust msg/s per round', 'bare', 'gust', 'ratio'], rows),
  );
  for (const t of result.targets) {
    if (t.gustExtra || t.gustFailed || t.bareExtra)
      console.log(
        `${t.id}: gust ran ${t.gustExtra} messages more than sent, ${t.gustFailed} failed runs; bare ${t.bareExtra} more`,
      );
  }
  if (result.amqpUnackedAfter)
    console.log(`AMQP unacked after the rounds (rabbitmqctl): ${JSON.stringify(result.amqpUnackedAfter)}`);
}

let exiting = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (exiting) return;
    exiting = true;
    process.stderr.write(`\n${sig}: stopping, then removing what the bench made in the brokers\n`);
    aborted = sig;
    process.exitCode = 130;
  });
}

try {
  await main();
} catch (e) {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
}
