/**
 * Topics end to end: publish (CLI, API, CloudEvents over HTTP with the SDK's own emitter), fan-out
 * to every subscriber, batches, retries with backoff, dead letters, non-retriable errors.
 */
import { CloudEvent, emitterFor, httpTransport, Mode } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  api,
  cli,
  deploy,
  deployProject,
  type Gust,
  type InvocationRecord,
  records,
  startGust,
  WAIT,
  writeProject,
} from '../helpers/gust.js';

let g: Gust;
let invokeKey: string;

/** Each function logs what it got as one JSON line, so the test reads it back from the records. */
const FILES = {
  'gust.yaml': `
topics: [orders, failed, batched, picky-topic]
functions:
  fulfil:
    handler: fns.mjs#fulfil
    triggers:
      - topic: { name: orders }
  notify:
    handler: fns.mjs#flaky
    retries: { max: 3, backoff: 100ms }
    triggers:
      - topic: { name: orders }
  batcher:
    handler: fns.mjs#batcher
    triggers:
      - topic: { name: batched, batch: 10 }
  doomed:
    handler: fns.mjs#doomed
    retries: { max: 1, backoff: 100ms, deadLetter: failed }
    triggers:
      - topic: { name: orders }
  picky:
    handler: fns.mjs#picky
    retries: { max: 5, backoff: 100ms, deadLetter: failed }
    triggers:
      - topic: { name: picky-topic }
  undertaker:
    handler: fns.mjs#undertaker
    triggers:
      - topic: { name: failed }
`,
  'fns.mjs': `
import { NonRetriableError } from 'gust';
const seen = (tag, event) => console.log(tag + ' ' + JSON.stringify(event));
export const fulfil = async (event) => { seen('fulfil', event); };
let calls = 0;
export const flaky = async (event) => {
  calls++;
  seen('flaky', { calls, id: event.id });
  if (calls <= 2) throw new Error('not yet (call ' + calls + ')');
};
export const batcher = async (events) => { seen('batch', { size: events.length, ids: events.map((e) => e.data.n) }); };
export const doomed = async () => { throw new Error('always fails'); };
export const picky = async () => { throw new NonRetriableError('this order can never be processed'); };
export const undertaker = async (event) => { seen('letter', event.data); };
`,
};

beforeAll(async () => {
  g = await startGust();
  await deployProject(g, FILES);
  invokeKey = (await api<{ key: string }>(g, 'POST', '/keys', { scope: 'invoke' })).body.key;
});

afterAll(async () => {
  await g?.stop();
});

/** The JSON each record of `fn` logged after `tag`, once `until` holds for them. */
async function logged<T>(fn: string, tag: string, until: (items: T[]) => boolean): Promise<T[]> {
  let items: T[] = [];
  await vi.waitFor(async () => {
    const all: InvocationRecord[] = await records(g, fn, 1000);
    items = all
      .reverse()
      .flatMap((r) => r.logs.split('\n'))
      .map((line) => line.split('\t')[2] ?? '')
      .filter((text) => text.startsWith(`${tag} `))
      .map((text) => JSON.parse(text.slice(tag.length + 1)) as T);
    expect(until(items), `${fn} logged ${tag}: ${JSON.stringify(items)}`).toBe(true);
  }, WAIT);
  return items;
}

describe('a topic', () => {
  it('delivers each message to every subscriber as a CloudEvent, retrying a failing one with backoff', async () => {
    const published = await cli(g, ['publish', 'orders', '--data', '{"order": 7}', '--json']);
    expect(published.code).toBe(0);
    const { id } = JSON.parse(published.stdout) as { id: string; subscribers: number };
    expect(JSON.parse(published.stdout)).toMatchObject({ topic: 'orders', subscribers: 3 });

    const got = await logged<{ id: string; type: string; source: string; data: unknown }>(
      'fulfil',
      'fulfil',
      (e) => e.some((x) => x.id === id),
    );
    expect(got.find((x) => x.id === id)).toMatchObject({
      specversion: '1.0',
      type: 'gust.topic.message',
      source: '/gust/topics/orders',
      data: { order: 7 },
    });

    // two failures, then a success on the third attempt; the records keep one id and count attempts
    await logged<{ calls: number }>('notify', 'flaky', (e) => e.some((x) => x.calls === 3));
    await vi.waitFor(async () => {
      const tries = (await records(g, 'notify')).filter((r) => r.trigger === 'topic');
      expect(tries.map((r) => [r.attempt, r.status]).sort()).toEqual([
        [1, 'error'],
        [2, 'error'],
        [3, 'ok'],
      ]);
      expect(new Set(tries.map((r) => r.id)).size).toBe(1);
    }, WAIT);
  });

  it('sends what still fails after its retries to the dead-letter topic, with the error and the attempts', async () => {
    const published = await cli(g, ['publish', 'orders', '--data', '{"order": 8}']);
    expect(published.code, published.stderr).toBe(0);
    type Letter = {
      function: string;
      attempts: number;
      error: { message: string };
      source: { kind: string; topic: string; event: { data: { order?: number } } };
    };
    const ofOrder8 = (x: Letter) => x.function === 'doomed' && x.source.event.data.order === 8;
    const letters = await logged<Letter>('undertaker', 'letter', (e) => e.some(ofOrder8));
    const letter = letters.find(ofOrder8)!;
    expect(letter.attempts).toBe(2); // the first try and its one retry
    expect(letter.error.message).toContain('always fails');
    expect(letter.source).toMatchObject({ kind: 'topic', topic: 'orders' });
  });

  it('does not retry a NonRetriableError: its event goes to the dead letter at once', async () => {
    await cli(g, ['publish', 'picky-topic', '--data', '{"order": 9}']);
    const letters = await logged<{ function: string; attempts: number }>('undertaker', 'letter', (e) =>
      e.some((x) => x.function === 'picky'),
    );
    expect(letters.find((x) => x.function === 'picky')!.attempts).toBe(1);
    const tries = await records(g, 'picky');
    expect(tries.map((r) => r.attempt)).toEqual([1]);
  });

  it('hands a subscriber with batch 10 the messages in batches of at most 10', async () => {
    const batch = Array.from({ length: 25 }, (_, n) => ({
      specversion: '1.0',
      id: `b-${n}`,
      source: '/test',
      type: 'test.batched',
      datacontenttype: 'application/json',
      data: { n },
    }));
    const res = await fetch(`${g.url}/_gust/events/batched`, {
      method: 'POST',
      headers: { authorization: `Bearer ${invokeKey}`, 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(batch),
    });
    expect(res.status).toBe(202);
    const batches = await logged<{ size: number; ids: number[] }>(
      'batcher',
      'batch',
      (b) => b.reduce((n, x) => n + x.size, 0) >= 25,
    );
    expect(batches.every((b) => b.size <= 10)).toBe(true);
    expect(batches.flatMap((b) => b.ids).sort((a, b) => a - b)).toEqual(batch.map((e) => e.data.n));
  });

  it('takes CloudEvents from the SDK emitter in binary and structured mode, keeping their attributes', async () => {
    for (const mode of [Mode.BINARY, Mode.STRUCTURED]) {
      const emit = emitterFor(httpTransport(`${g.url}/_gust/events/orders`), { mode });
      const event = new CloudEvent({ type: 'shop.order.placed', source: '/shop', data: { order: mode } });
      const answer = (await emit(event, { headers: { authorization: `Bearer ${invokeKey}` } })) as {
        body: string;
      };
      expect(JSON.parse(answer.body)).toMatchObject({ topic: 'orders', accepted: 1, ids: [event.id] });
      const got = await logged<{ id: string; type: string; source: string; data: unknown }>(
        'fulfil',
        'fulfil',
        (e) => e.some((x) => x.id === event.id),
      );
      expect(got.find((x) => x.id === event.id)).toMatchObject({
        type: 'shop.order.placed',
        source: '/shop',
        data: { order: mode },
      });
    }
  });

  it('refuses publishing to a topic nobody declared, bad events and a missing key, and keeps serving', async () => {
    const none = await cli(g, ['publish', 'no-such-topic', '--data', '1']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no topic no-such-topic');
    const post = (body: string, headers: Record<string, string>, key: string | null = invokeKey) =>
      fetch(`${g.url}/_gust/events/orders`, {
        method: 'POST',
        headers: { ...headers, ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body,
      });
    expect((await post('{}', { 'content-type': 'application/json' }, null)).status).toBe(401);
    expect((await post('{nope', { 'content-type': 'application/cloudevents+json' })).status).toBe(400);
    expect((await post('{}', { 'content-type': 'application/cloudevents+json' })).status).toBe(400);
    const csv = await post('x', { 'content-type': 'text/csv' });
    expect(csv.status).toBe(415);
    expect(((await csv.json()) as { error: { code: string } }).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const big = JSON.stringify({
      specversion: '1.0',
      id: 'x',
      source: '/s',
      type: 't',
      data: 'x'.repeat(300_000),
    });
    expect((await post(big, { 'content-type': 'application/cloudevents+json' })).status).toBe(413);
    expect((await cli(g, ['publish', 'orders', '--data', '{"still": "serving"}'])).code).toBe(0);
  });

  it('refuses a deploy whose trigger, dead letter or permission names a topic nobody declares', async () => {
    const dir = await writeProject(
      {
        'gust.yaml':
          'functions:\n  lonely:\n    handler: a.mjs\n    retries: { deadLetter: nowhere }\n    triggers:\n      - topic: { name: ghost }\n',
        'a.mjs': 'export const handler = async () => {};\n',
      },
      'lonely',
    );
    const r = await cli(g, ['deploy', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('functions.lonely.retries.deadLetter: no topic nowhere');
    expect(r.stderr).toContain('functions.lonely.triggers[0].topic.name: no topic ghost');
    // a topic another project declares is a topic: subscribing to it from here works
    await deploy(
      g,
      await writeProject(
        {
          'gust.yaml':
            'functions:\n  listener:\n    handler: a.mjs\n    triggers:\n      - topic: { name: orders }\n',
          'a.mjs': 'export const handler = async () => {};\n',
        },
        'other-project',
      ),
    );
    const topics = await api<{ topics: { name: string; subscribers: string[] }[] }>(g, 'GET', '/topics');
    expect(topics.body.topics.find((t) => t.name === 'orders')?.subscribers).toContain('listener');
  });
});
