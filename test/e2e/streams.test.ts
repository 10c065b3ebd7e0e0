/**
 * Stream triggers end to end against the machine's brokers (Mosquitto 1883, NATS 4222, RabbitMQ
 * 5672): wildcards, batches by count and by window, a failing batch redelivered, oversize and
 * binary payloads, messages sent while Gust is down, wrong addresses shown as failing and recovering.
 * (A broker restarted during delivery: streams-restart.test.ts, on a broker of its own.)
 */
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { connect as amqpConnect } from 'amqplib';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { api, deployProject, type Gust, records, startGust } from '../helpers/gust.js';
import { MOSQUITTO, NATS, RABBITMQ, servicesFor } from '../helpers/services.js';

const run = await servicesFor('stream triggers (test/e2e/streams.test.ts)', [MOSQUITTO, NATS, RABBITMQ]);
const P = `gt${randomBytes(4).toString('hex')}`;
const LONG = { timeout: 40_000, interval: 100 } as const;

/** Logs each batch it gets; a batch with a `fail` payload fails once (marked in KV by its first id). */
const HANDLER = `
export const log = async (e, ctx) => {
  const evs = Array.isArray(e) ? e : [e];
  console.log('BATCH ' + JSON.stringify(evs.map((x) => ({ type: x.type, subject: x.subject, payload: x.data.payload, encoding: x.data.encoding, headers: x.data.headers }))));
  if (evs.some((x) => x.data.payload && x.data.payload.fail)) {
    const marks = ctx.kv('marks');
    if ((await marks.get(evs[0].id)) === null) { await marks.put(evs[0].id, '1'); throw new Error('failing once'); }
  }
};
export const letters = async (e) => { console.log('LETTER ' + JSON.stringify(e.data)); };
`;

type Seen = {
  type: string;
  subject: string;
  payload: unknown;
  encoding: string;
  headers: Record<string, string>;
};

/** The batches a function ran (ok invocations), oldest first. */
async function batches(g: Gust, fn: string): Promise<Seen[][]> {
  const all = await records(g, fn, 1000);
  return all
    .filter((r) => r.status === 'ok')
    .sort((a, b) => a.start.localeCompare(b.start))
    .flatMap((r) => [...r.logs.matchAll(/BATCH (.*)$/gm)].map((m) => JSON.parse(m[1]!) as Seen[]));
}

async function states(
  g: Gust,
  fn: string,
): Promise<{ state: string; reason: string | null; trigger: string }[]> {
  const r = await api<{ sources: { state: string; reason: string | null; trigger: string }[] }>(
    g,
    'GET',
    `/functions/${fn}`,
  );
  return r.body.sources;
}

async function running(g: Gust, fn: string): Promise<void> {
  await vi.waitFor(async () => expect((await states(g, fn)).map((s) => s.state)).toEqual(['running']), LONG);
}

const MANIFEST = `
kv: [marks]
topics: [${P}-dead]
functions:
  mqtt-count:
    handler: f.mjs#log
    permissions: [kv:marks:write]
    triggers:
      - stream: { from: mqtt, connection: MQTT_URL, subject: "${P}/+/temp", batch: 5, window: 5m }
  mqtt-all:
    handler: f.mjs#log
    retries: { max: 0, deadLetter: ${P}-dead }
    triggers:
      - stream: { from: mqtt, connection: MQTT_URL, subject: "${P}/#", batch: 100, window: 300ms }
  nats-core:
    handler: f.mjs#log
    triggers:
      - stream: { from: nats, connection: NATS_URL, subject: "${P}.*.temp", batch: 3, window: 200ms }
  nats-js:
    handler: f.mjs#log
    permissions: [kv:marks:write]
    retries: { max: 3, backoff: 100ms }
    triggers:
      - stream: { from: nats, connection: NATS_URL, stream: ${P}, subject: "${P}.js.>", batch: 2, window: 200ms }
  amqp-q:
    handler: f.mjs#log
    permissions: [kv:marks:write]
    retries: { max: 3, backoff: 100ms }
    triggers:
      - stream: { from: amqp, connection: AMQP_URL, queue: ${P}-q, batch: 10, window: 200ms }
  dead:
    handler: f.mjs#letters
    triggers:
      - topic: { name: ${P}-dead }
`;

describe.runIf(run)('stream triggers', () => {
  let g: Gust;
  let mqtt: Awaited<ReturnType<typeof connectAsync>>;
  let nc: Awaited<ReturnType<typeof natsConnect>>;
  let amqp: Awaited<ReturnType<typeof amqpConnect>>;

  beforeAll(async () => {
    mqtt = await connectAsync('mqtt://127.0.0.1:1883', { clientId: `${P}-pub` });
    nc = await natsConnect({ servers: '127.0.0.1:4222' });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: P, subjects: [`${P}.js.>`] });
    amqp = await amqpConnect('amqp://guest:guest@127.0.0.1:5672');
    g = await startGust();
    const secrets = {
      MQTT_URL: 'mqtt://127.0.0.1:1883',
      NATS_URL: 'nats://127.0.0.1:4222',
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
    };
    for (const [name, value] of Object.entries(secrets)) await api(g, 'PUT', `/secrets/${name}`, { value });
    await deployProject(g, { 'gust.yaml': MANIFEST, 'f.mjs': HANDLER });
    for (const fn of ['mqtt-count', 'mqtt-all', 'nats-core', 'nats-js', 'amqp-q']) await running(g, fn);
  });

  afterAll(async () => {
    await g?.stop();
    await mqtt?.endAsync();
    const jsm = nc && (await jetstreamManager(nc));
    await jsm?.streams.delete(P).catch(() => {});
    await nc?.close();
    const ch = await amqp?.createChannel();
    await ch?.deleteQueue(`${P}-q`).catch(() => {});
    await amqp?.close();
  });

  it('delivers MQTT messages matching + and # in batches of `batch`, JSON, text and binary payloads', async () => {
    for (let i = 0; i < 10; i++)
      await mqtt.publishAsync(`${P}/${i % 2 ? 'a' : 'b'}/temp`, JSON.stringify({ i }), { qos: 1 });
    await mqtt.publishAsync(`${P}/a/humidity`, 'plain text', { qos: 1 });
    await mqtt.publishAsync(`${P}/a/b/temp`, Buffer.from([0xff, 0xfe, 0x00]), { qos: 1 });
    await vi.waitFor(async () => {
      const got = await batches(g, 'mqtt-count');
      expect(got.map((b) => b.length)).toEqual([5, 5]); // by count: the 5-minute window never ran out
      expect(
        got
          .flat()
          .map((m) => (m.payload as { i: number }).i)
          .sort((a, b) => a - b),
      ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(got[0]![0]).toMatchObject({ type: 'gust.stream.message', encoding: 'json' });
    }, LONG);
    await vi.waitFor(async () => {
      const all = (await batches(g, 'mqtt-all')).flat();
      expect(all).toHaveLength(12);
      expect(all.find((m) => m.subject === `${P}/a/humidity`)).toMatchObject({
        payload: 'plain text',
        encoding: 'text',
      });
      expect(all.find((m) => m.subject === `${P}/a/b/temp`)).toMatchObject({
        payload: '//4A',
        encoding: 'base64',
      });
    }, LONG);
  });

  it('cuts a batch when its window ends (NATS core, wildcard *)', async () => {
    for (const s of ['x', 'y']) nc.publish(`${P}.${s}.temp`, JSON.stringify({ s }));
    nc.publish(`${P}.x.other`, 'no');
    await nc.flush();
    await vi.waitFor(async () => {
      const got = await batches(g, 'nats-core');
      expect(got).toHaveLength(1); // 2 of batch 3: the 200 ms window sent them
      expect(got[0]!.map((m) => m.subject).sort()).toEqual([`${P}.x.temp`, `${P}.y.temp`]);
    }, LONG);
  });

  it('runs a failing AMQP batch again and acks the queue only once it succeeded', async () => {
    const ch = await amqp.createChannel();
    ch.sendToQueue(`${P}-q`, Buffer.from(JSON.stringify({ fail: true })), { headers: { origin: 'test' } });
    await vi.waitFor(async () => {
      const all = await records(g, 'amqp-q');
      expect(all.map((r) => r.status).sort()).toEqual(['error', 'ok']);
      const [batch] = await batches(g, 'amqp-q');
      expect(batch![0]!.headers).toMatchObject({ origin: 'test' });
    }, LONG);
    await vi.waitFor(async () => {
      const q = await ch.checkQueue(`${P}-q`);
      expect(q.messageCount).toBe(0);
    }, LONG);
    await ch.close();
  });

  it('refuses an oversize MQTT message with a record and a dead letter, and carries on', async () => {
    await mqtt.publishAsync(`${P}/big`, Buffer.alloc(1024 * 1024 + 1, 0x61), { qos: 1 });
    await mqtt.publishAsync(`${P}/after`, '"small"', { qos: 1 });
    await vi.waitFor(async () => {
      const refused = (await records(g, 'mqtt-all')).filter((r) => r.status === 'rejected');
      expect(refused).toHaveLength(1);
      expect(refused[0]!.error).toMatch(/1048577 bytes is over the 1048576 bytes/);
      const letters = (await records(g, 'dead')).map((r) => r.logs).join('\n');
      expect(letters).toContain(`${P}/big`);
      expect((await batches(g, 'mqtt-all')).flat().some((m) => m.subject === `${P}/after`)).toBe(true);
    }, LONG);
  });

  it('delivers what was sent while Gust was down: MQTT session, AMQP queue, JetStream consumer', async () => {
    const before = {
      mqtt: (await batches(g, 'mqtt-count')).flat().length,
      js: (await batches(g, 'nats-js')).flat().length,
      amqp: (await batches(g, 'amqp-q')).flat().length,
    };
    // a retained message reaches the live subscription once, and is not handed again at the restart
    await mqtt.publishAsync(`${P}/ret/temp`, JSON.stringify({ retained: 1 }), { qos: 1, retain: true });
    // mqtt-count runs batches of 5: four more fill this one
    for (let i = 0; i < 4; i++)
      await mqtt.publishAsync(`${P}/ret/temp`, JSON.stringify({ filler: i }), { qos: 1 });
    const retainedRuns = async () =>
      (await batches(g, 'mqtt-count'))
        .flat()
        .filter((m) => (m.payload as { retained?: number } | null)?.retained === 1).length;
    await vi.waitFor(async () => expect(await retainedRuns()).toBe(1), LONG);
    const dataDir = g.dataDir;
    expect(await g.stop()).toBe(0);
    for (let i = 0; i < 5; i++)
      await mqtt.publishAsync(`${P}/down/temp`, JSON.stringify({ down: i }), { qos: 1 });
    const js = (await import('@nats-io/jetstream')).jetstream(nc);
    for (let i = 0; i < 4; i++) await js.publish(`${P}.js.down`, JSON.stringify({ down: i }));
    const ch = await amqp.createChannel();
    for (let i = 0; i < 3; i++) ch.sendToQueue(`${P}-q`, Buffer.from(JSON.stringify({ down: i })));
    await ch.close();
    g = await startGust({ dataDir });
    await vi.waitFor(async () => {
      expect((await batches(g, 'mqtt-count')).flat().length - before.mqtt).toBeGreaterThanOrEqual(5);
      expect((await batches(g, 'nats-js')).flat().length - before.js).toBeGreaterThanOrEqual(4);
      expect((await batches(g, 'amqp-q')).flat().length - before.amqp).toBeGreaterThanOrEqual(3);
    }, LONG);
    const down = (await batches(g, 'mqtt-count')).flat().filter((m) => m.subject === `${P}/down/temp`);
    expect(down.map((m) => (m.payload as { down: number }).down).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(await retainedRuns()).toBe(1);
    await mqtt.publishAsync(`${P}/ret/temp`, '', { qos: 1, retain: true }); // the broker forgets it
  });

  it('attaches again when its JetStream stream is deleted and made again', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(P);
    await jsm.streams.add({ name: P, subjects: [`${P}.js.>`] });
    const js = (await import('@nats-io/jetstream')).jetstream(nc);
    await js.publish(`${P}.js.remade`, JSON.stringify({ remade: true }));
    await vi.waitFor(async () => {
      const got = (await batches(g, 'nats-js')).flat().filter((m) => m.subject === `${P}.js.remade`);
      expect(got).toHaveLength(1);
    }, LONG);
    await running(g, 'nats-js');
  });

  it('shows a broker it cannot reach, or that refuses its credentials, as failing, and recovers', async () => {
    await api(g, 'PUT', '/secrets/BAD_AMQP', { value: 'amqp://guest:wrong@127.0.0.1:5672' });
    await api(g, 'PUT', '/secrets/NOWHERE', { value: 'mqtt://127.0.0.1:1' });
    await deployProject(g, {
      'gust.yaml': `${MANIFEST}
  bad-amqp:
    handler: f.mjs#log
    triggers:
      - stream: { from: amqp, connection: BAD_AMQP, queue: ${P}-q2 }
  nowhere:
    handler: f.mjs#log
    triggers:
      - stream: { from: mqtt, connection: NOWHERE, subject: "${P}/n" }
`,
      'f.mjs': HANDLER,
    });
    await vi.waitFor(async () => {
      const [amqpState] = await states(g, 'bad-amqp');
      expect(amqpState).toMatchObject({ trigger: `stream amqp ${P}-q2` });
      expect(amqpState!.reason).toMatch(/ACCESS.REFUSED/);
      const [nowhere] = await states(g, 'nowhere');
      expect(nowhere!.reason).toMatch(/refused/);
    }, LONG);
    await api(g, 'PUT', '/secrets/NOWHERE', { value: 'mqtt://127.0.0.1:1883' });
    await running(g, 'nowhere');
    await mqtt.publishAsync(`${P}/n`, '1', { qos: 1 });
    await vi.waitFor(async () => expect((await batches(g, 'nowhere')).flat()).toHaveLength(1), LONG);
  });
});
