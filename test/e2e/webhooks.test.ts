/**
 * Webhooks end to end: deliveries signed as GitHub, Stripe and Gust's hmac-sha256 contract sign
 * them, answered 202 once queued (before the function runs), verified with the secret's current
 * value, refused with 401 when unsigned or wrongly signed, taken once per delivery id, and routed
 * as deploys, rollbacks and removals say.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { gust } from '../cli/helpers.js';
import { type Gate, gate } from '../helpers/gate.js';
import {
  api,
  cli,
  deploy,
  type Gust,
  type InvocationRecord,
  records,
  startGust,
  WAIT,
  writeProject,
} from '../helpers/gust.js';

const GITHUB_SECRET = 'gh-webhook-secret-7f3a';
const STRIPE_SECRET = 'whsec_test_4eC39HqLyjWDarjtT1zdp7dc';
let hookSecret = 'gust-hook-secret-one';

const hex = (secret: string, data: string | Buffer) =>
  createHmac('sha256', secret).update(data).digest('hex');

/** Each function logs the event it got as one JSON line; one instance at a time, so in queue order. */
const FNS = `
export const record = async (event) => {
  if (process.env.GATE) await fetch(process.env.GATE);
  console.log('event ' + JSON.stringify(event));
};
`;

function manifest(gateUrl: string): string {
  return `
functions:
  github:
    handler: fns.mjs#record
    env: { GATE: "${gateUrl}" }
    scale: { max: 1 }
    triggers:
      - webhook: { path: /hooks/github, verify: github, secret: GITHUB_SECRET }
  stripe:
    handler: fns.mjs#record
    scale: { max: 1 }
    triggers:
      - webhook: { path: /hooks/stripe, verify: stripe, secret: STRIPE_SECRET }
  plain:
    handler: fns.mjs#record
    scale: { max: 1 }
    triggers:
      - webhook: { path: /hooks/plain, verify: hmac-sha256, secret: HOOK_SECRET }
  sqs:
    handler: fns.mjs#record
    events: aws
    scale: { max: 1 }
    triggers:
      - webhook: { path: /hooks/aws, verify: hmac-sha256, secret: HOOK_SECRET }
`;
}

/** `gust secrets set NAME` with the value on standard input, as a script would; what it said. */
async function setSecret(g: Gust, name: string, value: string): Promise<string> {
  const r = await gust(['secrets', 'set', name], {
    env: { GUST_URL: g.url, GUST_API_KEY: g.key },
    input: `${value}\n`,
  });
  if (r.code !== 0) throw new Error(`gust secrets set ${name} failed: ${r.stderr}`);
  return r.stdout;
}

interface Posted {
  readonly status: number;
  readonly headers: Headers;
  readonly body: {
    accepted?: boolean;
    duplicate?: boolean;
    id?: string;
    error?: { code: string; message: string };
  };
  readonly text: string;
}

async function post(g: Gust, path: string, body: string, headers: Record<string, string>): Promise<Posted> {
  const res = await fetch(`${g.url}${path}`, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as Posted['body'], text };
}

const push = (after: string) => ({
  ref: 'refs/heads/main',
  before: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
  after,
  repository: { id: 186853002, full_name: 'octo-org/octo-repo' },
  pusher: { name: 'octocat', email: 'octocat@github.com' },
});

/** The headers GitHub sends with a delivery: signed over the raw body, SHA-1 beside SHA-256. */
function githubHeaders(body: string, delivery: string, secret = GITHUB_SECRET): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/044aadd',
    'x-github-event': 'push',
    'x-github-delivery': delivery,
    'x-github-hook-id': '292430182',
    'x-hub-signature': `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`,
    'x-hub-signature-256': `sha256=${hex(secret, body)}`,
  };
}

/** Gust's hmac-sha256 contract: X-Signature-256 over the raw body, X-Delivery-Id and X-Event optional. */
function hmacHeaders(body: string, delivery: string, secret = hookSecret): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-signature-256': `sha256=${hex(secret, body)}`,
    'x-delivery-id': delivery,
    'x-event': 'order.paid',
  };
}

interface WebhookCloudEvent {
  specversion: string;
  id: string;
  source: string;
  type: string;
  datacontenttype: string;
  data: unknown;
  webhookevent?: string;
  webhookdelivery?: string;
  webhookverifier: string;
}

/** The events `fn` logged so far (oldest first), once `until` holds for them. */
async function logged<T>(g: Gust, fn: string, until: (events: T[]) => boolean): Promise<T[]> {
  let events: T[] = [];
  await vi.waitFor(async () => {
    const all: InvocationRecord[] = await records(g, fn, 1000);
    events = all
      .reverse()
      .flatMap((r) => r.logs.split('\n'))
      .map((line) => line.split('\t')[2] ?? '')
      .filter((text) => text.startsWith('event '))
      .map((text) => JSON.parse(text.slice('event '.length)) as T);
    expect(until(events)).toBe(true);
  }, WAIT);
  return events;
}

describe('webhooks', () => {
  let g: Gust;
  let held: Gate;

  beforeAll(async () => {
    held = await gate();
    g = await startGust();
    await setSecret(g, 'GITHUB_SECRET', GITHUB_SECRET);
    await setSecret(g, 'STRIPE_SECRET', STRIPE_SECRET);
    await setSecret(g, 'HOOK_SECRET', hookSecret);
    await deploy(g, await writeProject({ 'gust.yaml': manifest(held.url), 'fns.mjs': FNS }, 'hooks'));
  });

  afterAll(async () => {
    held?.open();
    await g?.stop();
    await held?.close();
  });

  it('answers a signed GitHub push 202 while its function is still waiting, then hands the function a gust.webhook.received CloudEvent', async () => {
    const body = JSON.stringify(push('0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c'));
    const delivery = randomUUID();
    const answer = await post(g, '/hooks/github', body, githubHeaders(body, delivery));
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ accepted: true, id: expect.any(String) });
    const id = answer.body.id!;
    expect(answer.headers.get('x-gust-invocation-id')).toBe(id);

    // The function is running now, held at the gate: the sender had its 202 without waiting for it.
    await vi.waitFor(() => expect(held.arrived()).toBe(1), WAIT);
    expect(await records(g, 'github')).toEqual([]);
    held.open();

    const [event] = await logged<WebhookCloudEvent>(g, 'github', (e) => e.length === 1);
    expect(event).toEqual({
      specversion: '1.0',
      id: delivery,
      source: '/gust/webhooks/hooks/github',
      type: 'gust.webhook.received',
      time: expect.any(String),
      datacontenttype: 'application/json',
      data: JSON.parse(body),
      webhookevent: 'push',
      webhookdelivery: delivery,
      webhookverifier: 'github',
    });
    const [run] = await records(g, 'github');
    expect(run).toMatchObject({ id, trigger: 'webhook', status: 'ok', attempt: 1 });
  });

  it('acknowledges a delivery sent again with 200 {"duplicate": true} and does not process it twice', async () => {
    const body = JSON.stringify(push('a1b2c3d4e5f60718293a4b5c6d7e8f9012345678'));
    const delivery = randomUUID();
    const first = await post(g, '/hooks/github', body, githubHeaders(body, delivery));
    expect(first.status).toBe(202);
    const again = await post(g, '/hooks/github', body, githubHeaders(body, delivery));
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ duplicate: true, id: first.body.id });
    expect(again.headers.get('x-gust-invocation-id')).toBe(first.body.id);
    // twice at once, under a new id: one is queued, the other is its duplicate
    const twin = randomUUID();
    const both = await Promise.all(
      [1, 2].map(() => post(g, '/hooks/github', body, githubHeaders(body, twin))),
    );
    expect(both.map((b) => b.status).sort()).toEqual([200, 202]);
    expect(both[0]!.body.id).toBe(both[1]!.body.id);

    // One instance takes the queue in order: a copy queued by mistake would run before this one.
    const later = randomUUID();
    expect((await post(g, '/hooks/github', body, githubHeaders(body, later))).status).toBe(202);
    const events = await logged<WebhookCloudEvent>(g, 'github', (e) => e.some((x) => x.id === later));
    expect(events.filter((e) => e.id === delivery)).toHaveLength(1);
    expect(events.filter((e) => e.id === twin)).toHaveLength(1);
  });

  it('refuses a bad signature, a missing one and one made with another secret with 401 saying why, and queues nothing', async () => {
    const body = JSON.stringify(push('ffffffffffffffffffffffffffffffffffffffff'));
    const refused: Record<string, { headers: Record<string, string>; body: string; reason: RegExp }> = {
      'a changed body': {
        headers: githubHeaders(body, randomUUID()),
        body: body.replace('octocat', 'mallory'),
        reason: /X-Hub-Signature-256 does not match the body/,
      },
      'no signature': {
        headers: (() => {
          const {
            'x-hub-signature': _sha1,
            'x-hub-signature-256': _sha256,
            ...rest
          } = githubHeaders(body, randomUUID());
          return rest;
        })(),
        body,
        reason: /missing X-Hub-Signature-256 header/,
      },
      'another secret': {
        headers: githubHeaders(body, randomUUID(), 'not-the-secret'),
        body,
        reason: /X-Hub-Signature-256 does not match the body/,
      },
    };
    for (const [what, r] of Object.entries(refused)) {
      const answer = await post(g, '/hooks/github', r.body, r.headers);
      expect(answer.status, what).toBe(401);
      expect(answer.body.error?.code, what).toBe('SIGNATURE_INVALID');
      expect(answer.body.error?.message, what).toMatch(r.reason);
      // never what the signature should have been
      expect(answer.text).not.toContain(hex(GITHUB_SECRET, r.body));
    }
    const marker = randomUUID();
    expect((await post(g, '/hooks/github', body, githubHeaders(body, marker))).status).toBe(202);
    const events = await logged<WebhookCloudEvent>(g, 'github', (e) => e.some((x) => x.id === marker));
    const refusedIds = Object.values(refused).map((r) => r.headers['x-github-delivery']);
    expect(events.filter((e) => refusedIds.includes(e.id))).toEqual([]);
    // one record per event the function got: none for the refused deliveries
    expect(await records(g, 'github')).toHaveLength(events.length);
  });

  it('verifies Stripe deliveries as Stripe signs them, and refuses one whose timestamp is 6 minutes old', async () => {
    const event = {
      id: 'evt_1NG8Du2eZvKYlo2CUI79vXWy',
      object: 'event',
      api_version: '2023-10-16',
      created: Math.floor(Date.now() / 1000),
      type: 'payment_intent.succeeded',
      data: { object: { id: 'pi_3NG8Dt2eZvKYlo2C0mEh2Pae', object: 'payment_intent', amount: 2000 } },
      livemode: false,
    };
    const body = JSON.stringify(event, null, 2); // Stripe sends its events indented
    const stripeHeaders = (t: number) => ({
      'content-type': 'application/json; charset=utf-8',
      'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      'stripe-signature': `t=${t},v1=${hex(STRIPE_SECRET, `${t}.${body}`)},v0=${hex('old', body)}`,
    });
    const now = Math.floor(Date.now() / 1000);
    const stale = await post(g, '/hooks/stripe', body, stripeHeaders(now - 360));
    expect(stale.status).toBe(401);
    expect(stale.body.error?.message).toMatch(/timestamp outside the tolerance/);

    const answer = await post(g, '/hooks/stripe', body, stripeHeaders(now));
    expect(answer.status).toBe(202);
    const [got] = await logged<WebhookCloudEvent>(g, 'stripe', (e) => e.length === 1);
    expect(got).toMatchObject({
      id: event.id,
      type: 'gust.webhook.received',
      source: '/gust/webhooks/hooks/stripe',
      data: event,
      webhookevent: 'payment_intent.succeeded',
      webhookdelivery: event.id,
      webhookverifier: 'stripe',
    });
    // Stripe retries with the same event id, signed anew
    const retry = await post(g, '/hooks/stripe', body, stripeHeaders(now + 1));
    expect(retry.body).toEqual({ duplicate: true, id: answer.body.id });
  });

  it('verifies hmac-sha256 deliveries (X-Signature-256, X-Delivery-Id, X-Event)', async () => {
    const body = JSON.stringify({ order: 41, total: 19.5 });
    const delivery = `d-${randomUUID()}`;
    expect((await post(g, '/hooks/plain', body, hmacHeaders(body, delivery))).status).toBe(202);
    const [got] = await logged<WebhookCloudEvent>(g, 'plain', (e) => e.length === 1);
    expect(got).toMatchObject({
      id: delivery,
      type: 'gust.webhook.received',
      data: { order: 41, total: 19.5 },
      webhookevent: 'order.paid',
      webhookdelivery: delivery,
      webhookverifier: 'hmac-sha256',
    });
  });

  it('refuses a signed payload nested too deep to travel (400, nothing queued) and keeps serving', async () => {
    for (const depth of [1001, 5000]) {
      const body = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      const delivery = `deep-${depth}-${randomUUID()}`;
      const r = await post(g, '/hooks/plain', body, hmacHeaders(body, delivery));
      expect(r.status, r.text).toBe(400);
      expect(r.text).toContain('nests arrays and objects over 1000 deep');
    }
    const fine = JSON.stringify({ ok: true });
    expect((await post(g, '/hooks/plain', fine, hmacHeaders(fine, `d-${randomUUID()}`))).status).toBe(202);
  });

  it('accepts a malformed body with a good signature: the function gets its text', async () => {
    const body = '{"order": 42, "total": ';
    const delivery = `d-${randomUUID()}`;
    expect((await post(g, '/hooks/plain', body, hmacHeaders(body, delivery))).status).toBe(202);
    const events = await logged<WebhookCloudEvent>(g, 'plain', (e) => e.some((x) => x.id === delivery));
    expect(events.find((e) => e.id === delivery)).toMatchObject({
      datacontenttype: 'text/plain',
      data: body,
    });
  });

  it('hands a function with events: aws an SQS-style record whose body is the payload', async () => {
    const body = JSON.stringify({ order: 43 });
    const delivery = `d-${randomUUID()}`;
    expect((await post(g, '/hooks/aws', body, hmacHeaders(body, delivery))).status).toBe(202);
    type Sqs = {
      Records: {
        eventSource: string;
        body: string;
        messageAttributes: Record<string, { stringValue: string }>;
      }[];
    };
    const [got] = await logged<Sqs>(g, 'sqs', (e) => e.length === 1);
    expect(got!.Records).toHaveLength(1);
    const [rec] = got!.Records;
    expect(rec!.eventSource).toBe('aws:sqs');
    expect(JSON.parse(rec!.body)).toEqual({ order: 43 });
    expect(rec!.messageAttributes['ce-type']?.stringValue).toBe('gust.webhook.received');
    expect(rec!.messageAttributes['ce-webhookevent']?.stringValue).toBe('order.paid');
    expect(rec!.messageAttributes['ce-webhookdelivery']?.stringValue).toBe(delivery);
  });

  it('verifies with a secret changed by gust secrets set from the next delivery on', async () => {
    const body = JSON.stringify({ order: 44 });
    const old = hookSecret;
    hookSecret = 'gust-hook-secret-two';
    expect(await setSecret(g, 'HOOK_SECRET', hookSecret)).toBe(
      'changed HOOK_SECRET: the webhooks of plain, sqs verify with it from the next delivery\n',
    );
    const withOld = await post(g, '/hooks/plain', body, hmacHeaders(body, `d-${randomUUID()}`, old));
    expect(withOld.status).toBe(401);
    const delivery = `d-${randomUUID()}`;
    expect((await post(g, '/hooks/plain', body, hmacHeaders(body, delivery))).status).toBe(202);
    await logged<WebhookCloudEvent>(g, 'plain', (e) => e.some((x) => x.id === delivery));
  });

  it('answers other methods on a webhook path 405 with Allow: POST', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await fetch(`${g.url}/hooks/github`, { method });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow'), method).toBe('POST');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('METHOD_NOT_ALLOWED');
    }
  });

  it('refuses a delivery over 6 MB with 413 from its head, before reading or verifying it', async () => {
    // 7 MB announced, 5 bytes sent: the answer can only come from the head.
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(g.url).port), '127.0.0.1', () => {
        socket.write(
          'POST /hooks/github HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
            `Content-Length: ${7 * 1024 * 1024}\r\n\r\nhello`,
        );
      });
      let text = '';
      socket.on('data', (b) => {
        text += b.toString();
        if (text.includes('PAYLOAD_TOO_LARGE') || text.includes('}')) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on('error', reject);
    });
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large');
    expect(answer).toContain('PAYLOAD_TOO_LARGE');
  });

  it('lists webhook routes in gust ls, and refuses to call one with gust invoke --path', async () => {
    const fn = await api<{ routes: string[] }>(g, 'GET', '/functions/github');
    expect(fn.body.routes).toEqual(['POST /hooks/github (webhook, github)']);
    const r = await cli(g, ['invoke', 'github', '--path', '/hooks/github', '--data', '{}']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is a webhook route of github');
  });

  it('follows deploys, rollbacks and removals: a removed function’s webhook path answers 404', async () => {
    await setSecret(g, 'MOVING_SECRET', 'moving-secret');
    const project = (path: string) =>
      writeProject(
        {
          'gust.yaml': `functions:\n  moving:\n    handler: fns.mjs#record\n    triggers:\n      - webhook: { path: ${path}, verify: hmac-sha256, secret: MOVING_SECRET }\n`,
          'fns.mjs': FNS,
        },
        'moving',
      );
    const send = (path: string) => {
      const body = JSON.stringify({ to: path });
      return post(g, path, body, hmacHeaders(body, randomUUID(), 'moving-secret'));
    };
    await deploy(g, await project('/hooks/v1'));
    expect((await send('/hooks/v1')).status).toBe(202);
    await deploy(g, await project('/hooks/v2'));
    expect((await send('/hooks/v1')).status).toBe(404);
    expect((await send('/hooks/v2')).status).toBe(202);
    expect((await cli(g, ['rollback', 'moving'])).code).toBe(0);
    expect((await send('/hooks/v1')).status).toBe(202);
    expect((await send('/hooks/v2')).status).toBe(404);
    expect((await cli(g, ['rm', 'moving', '--yes'])).code).toBe(0);
    expect((await send('/hooks/v1')).status).toBe(404);
  });
});

describe('a webhook whose function’s queue is full', () => {
  let g: Gust;
  let held: Gate;

  beforeAll(async () => {
    held = await gate();
    // a queue of one event: the one held at the gate fills it
    g = await startGust({ env: { GUST_QUEUE_DEPTH: '1' } });
    await setSecret(g, 'HOOK_SECRET', 'full-secret');
    const yaml = `functions:\n  slow:\n    handler: fns.mjs#record\n    env: { GATE: "${held.url}" }\n    scale: { max: 1 }\n    triggers:\n      - webhook: { path: /hooks/slow, verify: hmac-sha256, secret: HOOK_SECRET }\n`;
    await deploy(g, await writeProject({ 'gust.yaml': yaml, 'fns.mjs': FNS }, 'full'));
  });

  afterAll(async () => {
    held?.open();
    await g?.stop();
    await held?.close();
  });

  it('answers 503 with Retry-After, and takes the same delivery once there is room', async () => {
    const send = (n: number, delivery: string) => {
      const body = JSON.stringify({ n });
      return post(g, '/hooks/slow', body, hmacHeaders(body, delivery, 'full-secret'));
    };
    expect((await send(1, 'first')).status).toBe(202);
    await vi.waitFor(() => expect(held.arrived()).toBe(1), WAIT);
    const full = await send(2, 'second');
    expect(full.status).toBe(503);
    expect(full.body.error?.code).toBe('QUEUE_FULL');
    expect(Number(full.headers.get('retry-after'))).toBeGreaterThan(0);
    held.open();
    await logged<{ data: { n: number } }>(g, 'slow', (e) => e.length === 1);
    // the refused delivery's id was not kept: its retry is queued
    await vi.waitFor(async () => expect((await send(2, 'second')).status).toBe(202), WAIT);
    const events = await logged<{ data: { n: number } }>(g, 'slow', (e) => e.length === 2);
    expect(events.map((e) => e.data.n)).toEqual([1, 2]);
  });
});
