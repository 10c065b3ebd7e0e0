import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { api, deployProject, type Gust, records, startGust, WAIT } from '../helpers/gust.js';

let g: Gust;
let invokeKey: { key: string; accessKeyId: string; secretAccessKey: string };
const clients: LambdaClient[] = [];

function client(accessKeyId: string, secretAccessKey: string): LambdaClient {
  const c = new LambdaClient({
    endpoint: g.url,
    region: 'us-east-1',
    credentials: { accessKeyId, secretAccessKey },
  });
  clients.push(c);
  return c;
}

const payload = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const decode = (p: Uint8Array | undefined) => JSON.parse(new TextDecoder().decode(p)) as unknown;

beforeAll(async () => {
  g = await startGust();
  await deployProject(g, {
    'gust.yaml': `
functions:
  add:
    handler: add.mjs
  fails:
    handler: fails.mjs
  other:
    handler: add.mjs
`,
    'add.mjs': `export const handler = async (event, context) => { console.log('adding'); return { sum: event.a + event.b, fn: context.functionName }; };`,
    'fails.mjs': `export const handler = async () => { throw new TypeError('bad input'); };`,
  });
  const created = await api<typeof invokeKey>(g, 'POST', '/keys', { scope: 'invoke', function: 'add' });
  invokeKey = created.body;
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await g?.stop();
});

describe('the AWS Lambda Invoke API', () => {
  it('serves the AWS SDK Lambda client signed with a key pair', async () => {
    const out = await client(invokeKey.accessKeyId, invokeKey.secretAccessKey).send(
      new InvokeCommand({ FunctionName: 'add', Payload: payload({ a: 2, b: 40 }), LogType: 'Tail' }),
    );
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBeUndefined();
    expect(decode(out.Payload)).toEqual({ sum: 42, fn: 'add' });
    expect(out.ExecutedVersion).toBe('1');
    expect(Buffer.from(out.LogResult ?? '', 'base64').toString()).toContain('adding');
    const [record] = await records(g, 'add', 1);
    expect(record!.trigger).toBe('lambda-api');
  });

  it('queues an Event invocation: 202 with its id, and the function runs after the answer', async () => {
    const out = await client(invokeKey.accessKeyId, invokeKey.secretAccessKey).send(
      new InvokeCommand({ FunctionName: 'add', InvocationType: 'Event', Payload: payload({ a: 1, b: 2 }) }),
    );
    expect(out.StatusCode).toBe(202);
    const id = out.$metadata.requestId;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await vi.waitFor(async () => {
      const r = await api<{ status: string; trigger: string; logs: string }>(g, 'GET', `/invocations/${id}`);
      expect(r.body).toMatchObject({ status: 'ok', trigger: 'lambda-api' });
    }, WAIT);
    const raw = await fetch(`${g.url}/2015-03-31/functions/add/invocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${invokeKey.key}`, 'x-amz-invocation-type': 'Event' },
      body: '{}',
    });
    expect(raw.status).toBe(202);
    expect(raw.headers.get('x-gust-invocation-id')).toBe(raw.headers.get('x-amzn-requestid'));
  });

  it('refuses an Event over 256 KB with 413, as AWS does', async () => {
    const big = { blob: 'x'.repeat(300 * 1024) };
    const res = await fetch(`${g.url}/2015-03-31/functions/add/invocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${invokeKey.key}`, 'x-amz-invocation-type': 'Event' },
      body: JSON.stringify(big),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('x-amzn-errortype')).toBe('RequestEntityTooLargeException');
  });

  it('reports a function error the way Lambda does', async () => {
    const admin = await api<typeof invokeKey>(g, 'POST', '/keys', { scope: 'admin' });
    const out = await client(admin.body.accessKeyId, admin.body.secretAccessKey).send(
      new InvokeCommand({ FunctionName: 'fails', Payload: payload({}) }),
    );
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBe('Unhandled');
    expect(decode(out.Payload)).toMatchObject({
      errorType: 'TypeError',
      errorMessage: 'bad input',
    });
  });

  it('answers DryRun with 204 without running the function', async () => {
    const before = (await records(g, 'add')).length;
    const out = await client(invokeKey.accessKeyId, invokeKey.secretAccessKey).send(
      new InvokeCommand({ FunctionName: 'add', InvocationType: 'DryRun' }),
    );
    expect(out.StatusCode).toBe(204);
    expect((await records(g, 'add')).length).toBe(before);
  });

  it('refuses a wrong secret, another function than the key allows, and unknown functions', async () => {
    const wrong = client(invokeKey.accessKeyId, 'x'.repeat(43));
    await expect(
      wrong.send(new InvokeCommand({ FunctionName: 'add', Payload: payload({}) })),
    ).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
    });
    const scoped = client(invokeKey.accessKeyId, invokeKey.secretAccessKey);
    await expect(
      scoped.send(new InvokeCommand({ FunctionName: 'other', Payload: payload({}) })),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    const admin = await api<typeof invokeKey>(g, 'POST', '/keys', { scope: 'admin' });
    const adminClient = client(admin.body.accessKeyId, admin.body.secretAccessKey);
    await expect(
      adminClient.send(new InvokeCommand({ FunctionName: 'nope', Payload: payload({}) })),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('takes a bearer key too, and refuses a payload that is not JSON', async () => {
    const ok = await fetch(`${g.url}/2015-03-31/functions/add/invocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${invokeKey.key}` },
      body: JSON.stringify({ a: 1, b: 1 }),
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ sum: 2, fn: 'add' });
    const bad = await fetch(`${g.url}/2015-03-31/functions/add/invocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${invokeKey.key}` },
      body: '{not json',
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('x-amzn-errortype')).toBe('InvalidRequestContentException');
  });
});
