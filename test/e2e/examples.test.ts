import { createHmac, randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { gust } from '../cli/helpers.js';
import {
  api,
  cli,
  deploy,
  type Gust,
  type InvocationRecord,
  invoke,
  ROOT,
  records,
  startGust,
  WAIT,
} from '../helpers/gust.js';

// `npm start` runs `gust up examples`: the same here, on a free port and a temporary data folder.
let g: Gust;

beforeAll(async () => {
  g = await startGust({ dir: path.join(ROOT, 'examples') });
});

afterAll(async () => {
  await g?.stop();
});

describe('examples/hello-api (web-standard JSON API)', () => {
  it('greets by query, by path and by POST body', async () => {
    expect(await (await fetch(`${g.url}/hello?name=Ada`)).json()).toMatchObject({ message: 'Hello, Ada.' });
    expect(await (await fetch(`${g.url}/hello/Grace`)).json()).toMatchObject({ message: 'Hello, Grace.' });
    const posted = await fetch(`${g.url}/hello/Linus`, {
      method: 'POST',
      body: JSON.stringify({ punctuation: '!' }),
    });
    expect(await posted.json()).toMatchObject({ message: 'Hello, Linus!' });
    const [last] = await records(g, 'hello-api', 1);
    expect(last!.logs).toContain('greeting Linus');
  });
});

describe('examples/lambda-classic (an unmodified AWS Lambda handler)', () => {
  it('reads, writes and misses orders with API Gateway v2 events', async () => {
    expect(await (await fetch(`${g.url}/orders/42`)).json()).toEqual({
      id: '42',
      item: 'umbrella',
      quantity: 1,
    });
    const put = await fetch(`${g.url}/orders/7`, { method: 'PUT', body: JSON.stringify({ item: 'hat' }) });
    expect(put.status).toBe(201);
    expect(await (await fetch(`${g.url}/orders/7`)).json()).toEqual({ item: 'hat', id: '7' });
    const missing = await fetch(`${g.url}/orders/1`);
    expect(missing.status).toBe(404);
    const bad = await fetch(`${g.url}/orders/8`, { method: 'PUT', body: 'not json' });
    expect(bad.status).toBe(400);
  });
});

/** The log lines of a function's records so far, oldest first. */
async function logsOf(fn: string): Promise<string> {
  return (await records(g, fn, 1000))
    .reverse()
    .map((r: InvocationRecord) => r.logs)
    .join('');
}

describe('examples/fan-out (an HTTP function publishes; two subscribers, one retried)', () => {
  it('takes an order with 202, and both subscribers process it; email on its third attempt', async () => {
    const res = await fetch(`${g.url}/shop/orders`, {
      method: 'POST',
      body: JSON.stringify({ item: 'umbrella', quantity: 2 }),
    });
    expect(res.status).toBe(202);
    const { orderId } = (await res.json()) as { orderId: string };
    await vi.waitFor(
      async () => expect(await logsOf('fulfil')).toContain(`fulfilling umbrella for order ${orderId}`),
      WAIT,
    );
    await vi.waitFor(
      async () =>
        expect(await logsOf('email')).toContain(`confirmation sent for order ${orderId} on attempt 3`),
      WAIT,
    );
    const tries = (await records(g, 'email', 100)).filter((r) => r.status !== 'ok');
    expect(tries.map((r) => r.error)).toEqual(
      expect.arrayContaining([expect.stringContaining('mail server busy')]),
    );
    const bad = await fetch(`${g.url}/shop/orders`, { method: 'POST', body: '{}' });
    expect(bad.status).toBe(400);
  });
});

describe('examples/scheduled-report (every minute, a report on a topic)', () => {
  it('is scheduled, and each run publishes a report that the archive keeps', async () => {
    const ls = JSON.parse((await cli(g, ['ls', '--json'])).stdout) as {
      functions: { name: string; nextRun: string | null }[];
    };
    const next = Date.parse(ls.functions.find((f) => f.name === 'report')!.nextRun!);
    expect(next - Date.now()).toBeLessThanOrEqual(60_000);
    // a run now, as the schedule makes one (waiting up to a minute for the tick is not a test)
    const ran = await invoke(g, 'report', { type: 'gust.schedule.tick', data: { scheduledTime: 'now' } });
    expect(ran.body.result).toMatchObject({ id: expect.any(String) });
    await vi.waitFor(async () => expect(await logsOf('archive')).toContain('archived {"at":"now"'), WAIT);
  });
});

describe('examples/sqs-batch (an unmodified Lambda SQS handler with partial batch failures)', () => {
  it('gets SQS batches; only the failed job is retried, then dead-lettered', async () => {
    const key = (await api<{ key: string }>(g, 'POST', '/keys', { scope: 'invoke' })).body.key;
    const jobs = [1, 2, 3].map((id) => ({
      specversion: '1.0',
      id: `job-${id}`,
      source: '/test',
      type: 'test.job',
      datacontenttype: 'application/json',
      data: { id, fail: id === 2 },
    }));
    const res = await fetch(`${g.url}/_gust/events/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(jobs),
    });
    expect(res.status).toBe(202);
    await vi.waitFor(
      async () => expect(await logsOf('dead-jobs')).toContain('dead letter from sqs-jobs after 2 attempts'),
      WAIT,
    );
    const log = await logsOf('sqs-jobs');
    // jobs 1 and 3 done once; job 2 failed on its first and second delivery, and was not tried again
    expect(log.match(/job 1 done/g)).toHaveLength(1);
    expect(log.match(/job 3 done/g)).toHaveLength(1);
    expect(log).toContain('job 2 failed (receive count 1)');
    expect(log).toContain('job 2 failed (receive count 2)');
    expect(log).not.toContain('receive count 3');
    expect(await logsOf('dead-jobs')).toContain('the handler reported it in batchItemFailures');
  });
});

describe('examples/github-webhook (a GitHub push webhook, verified, turned into a message)', () => {
  it('deploys once its secret is set, and turns a push signed as GitHub signs it into a message', async () => {
    const secret = 'example-webhook-secret';
    const set = await gust(['secrets', 'set', 'GITHUB_WEBHOOK_SECRET'], {
      env: { GUST_URL: g.url, GUST_API_KEY: g.key },
      input: secret,
    });
    expect(set.code).toBe(0);
    await deploy(g, path.join(ROOT, 'examples', 'github-webhook'));

    const body = JSON.stringify({
      ref: 'refs/heads/main',
      after: '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c',
      repository: { full_name: 'octo-org/octo-repo' },
      pusher: { name: 'octocat' },
      commits: [{ id: '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c', message: 'Fix all the bugs' }],
    });
    const delivery = randomUUID();
    const res = await fetch(`${g.url}/hooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': delivery,
        'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
      },
      body,
    });
    expect(res.status).toBe(202);
    await vi.waitFor(async () => {
      const [run] = await records(g, 'github-push', 1);
      expect(run?.logs).toContain(
        `push {"repository":"octo-org/octo-repo","branch":"main","head":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","pusher":"octocat","commits":1,"delivery":"${delivery}"}`,
      );
    }, WAIT);
    // and the topic hop: the consumer of `pushes` got it
    await vi.waitFor(async () => {
      const [logged] = await records(g, 'push-log', 1);
      expect(logged?.logs).toContain('octocat pushed 1 commit(s) to octo-org/octo-repo@main (0d1a26e)');
    }, WAIT);
  });
});

describe('examples/kv-notes (a REST service on KV with an input schema)', () => {
  it('creates, reads, lists, updates and deletes notes; refuses a body the schema does not take', async () => {
    const created = await fetch(`${g.url}/notes`, {
      method: 'POST',
      body: JSON.stringify({ text: 'buy milk' }),
    });
    expect(created.status).toBe(201);
    const note = (await created.json()) as { id: string; text: string };
    expect(note.text).toBe('buy milk');
    expect(await (await fetch(`${g.url}/notes/${note.id}`)).json()).toMatchObject({ text: 'buy milk' });
    const listed = (await (await fetch(`${g.url}/notes`)).json()) as { notes: { id: string }[] };
    expect(listed.notes.map((n) => n.id)).toContain(note.id);
    const updated = await fetch(`${g.url}/notes/${note.id}`, {
      method: 'PUT',
      body: JSON.stringify({ text: 'oat milk' }),
    });
    expect(await updated.json()).toMatchObject({ text: 'oat milk' });
    for (const bad of [{}, { text: '' }, { text: 'x', extra: 1 }, 'not json']) {
      const res = await fetch(`${g.url}/notes`, {
        method: 'POST',
        body: typeof bad === 'string' ? bad : JSON.stringify(bad),
      });
      expect(res.status).toBe(400);
    }
    expect((await fetch(`${g.url}/notes/${note.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${g.url}/notes/${note.id}`)).status).toBe(404);
  });
});

describe('examples/chatbot (history in KV, each key rate limited)', () => {
  it('remembers each user apart, and a rate-limited key gets 429 past its rate', async () => {
    const keyOf = async (rate?: string) =>
      (
        await api<{ key: string }>(g, 'POST', '/keys', {
          scope: 'invoke',
          function: 'chat',
          ...(rate ? { rate } : {}),
        })
      ).body.key;
    const ada = await keyOf();
    const bob = await keyOf('2/m');
    const say = (key: string, message: string) =>
      fetch(`${g.url}/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({ message }),
      });
    expect(await (await say(ada, 'my name is Ada')).json()).toMatchObject({
      reply: 'Nice to meet you, Ada.',
    });
    expect(await (await say(bob, 'what is my name?')).json()).toMatchObject({
      reply: 'You have not told me.',
    });
    expect(await (await say(ada, 'what is my name?')).json()).toMatchObject({
      reply: 'You are Ada.',
      turns: 4,
    });
    // bob's key: 2 a minute, both at once: the third call within the minute is refused
    expect((await say(bob, 'hello again')).status).toBe(200);
    const limited = await say(bob, 'and again');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).not.toBeNull();
    // a client cannot pretend to be another user
    const spoof = await fetch(`${g.url}/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ada}`, 'x-gust-key-id': 'someone-else' },
      body: JSON.stringify({ message: 'what is my name?' }),
    });
    expect(await spoof.json()).toMatchObject({ reply: 'You are Ada.' });
  });
});
