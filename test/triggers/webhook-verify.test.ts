import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { verifyWebhook, type WebhookVerdict } from '../../src/triggers/webhook/verify.js';

const hex = (secret: string, data: string | Buffer) =>
  createHmac('sha256', secret).update(data).digest('hex');

function refusal(verdict: WebhookVerdict): string {
  if (verdict.ok) throw new Error('expected the delivery to be refused');
  return verdict.reason;
}

describe('github', () => {
  const SECRET = 'gh-webhook-secret';
  const DELIVERY = '72d3162e-cc78-11e3-81ab-4c9367dc0958';
  const push = {
    ref: 'refs/heads/main',
    before: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
    after: '0000000000000000000000000000000000000000',
    repository: { id: 186853002, full_name: 'octo-org/octo-repo' },
    pusher: { name: 'octocat', email: 'octocat@github.com' },
  };

  /** As GitHub sends a delivery: its headers in node's lower case, signed over the raw body. */
  function delivery(body: string, contentType: string, secret = SECRET): IncomingHttpHeaders {
    return {
      'content-type': contentType,
      'user-agent': 'GitHub-Hookshot/044aadd',
      'x-github-delivery': DELIVERY,
      'x-github-event': 'push',
      'x-hub-signature': `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`,
      'x-hub-signature-256': `sha256=${hex(secret, body)}`,
    };
  }
  const verify = (headers: IncomingHttpHeaders, body: string) =>
    verifyWebhook('github', SECRET, { headers, body: Buffer.from(body) });
  const json = JSON.stringify(push);

  it("accepts GitHub's documented test vector", () => {
    const headers = {
      'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    };
    const verdict = verifyWebhook('github', "It's a Secret to Everybody", {
      headers,
      body: Buffer.from('Hello, World!'),
    });
    expect(verdict).toEqual({
      ok: true,
      deliveryId: null,
      eventName: null,
      payload: 'Hello, World!',
      encoding: 'text',
    });
  });

  it('accepts a JSON push and gives its delivery id, event name and parsed payload', () => {
    expect(verify(delivery(json, 'application/json'), json)).toEqual({
      ok: true,
      deliveryId: DELIVERY,
      eventName: 'push',
      payload: push,
      encoding: 'json',
    });
  });

  it('accepts a form-encoded push: the signature covers the form, the payload is its payload field', () => {
    const body = new URLSearchParams({ payload: JSON.stringify(push) }).toString();
    expect(verify(delivery(body, 'application/x-www-form-urlencoded'), body)).toMatchObject({
      ok: true,
      deliveryId: DELIVERY,
      payload: push,
      encoding: 'json',
    });
  });

  it('refuses a push signed with another secret, without saying what the signature should be', () => {
    const reason = refusal(verify(delivery(json, 'application/json', 'another secret'), json));
    expect(reason).toBe(
      'X-Hub-Signature-256 does not match the body: signed with another secret, or the body was changed',
    );
    expect(reason).not.toContain(hex(SECRET, json));
  });

  it('refuses a body changed after signing', () => {
    const tampered = json.replace('refs/heads/main', 'refs/heads/prod');
    expect(refusal(verify(delivery(json, 'application/json'), tampered))).toMatch(/does not match the body/);
  });

  it('refuses a delivery without a signature header', () => {
    const {
      'x-hub-signature': _,
      'x-hub-signature-256': __,
      ...unsigned
    } = delivery(json, 'application/json');
    expect(refusal(verify(unsigned, json))).toBe(
      'missing X-Hub-Signature-256 header: set a secret on the GitHub webhook',
    );
  });

  it('refuses a delivery signed with SHA-1 only, saying sha256 is required', () => {
    const { 'x-hub-signature-256': _, ...sha1Only } = delivery(json, 'application/json');
    expect(refusal(verify(sha1Only, json))).toBe(
      'X-Hub-Signature (SHA-1) is not accepted: sha256 is required (X-Hub-Signature-256)',
    );
  });

  it('refuses a signature header that is not sha256= and 64 hex digits', () => {
    expect(refusal(verify({ 'x-hub-signature-256': 'sha256=abc' }, '{}'))).toBe(
      'X-Hub-Signature-256 must be sha256= followed by 64 hex digits',
    );
  });

  it('reads headers sent in any case, as node hands them over in lower case (and hex in either case)', async () => {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const verdict = verifyWebhook('github', SECRET, {
          headers: req.headers,
          body: Buffer.concat(chunks),
        });
        res.end(JSON.stringify(verdict));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const answer = await fetch(`http://127.0.0.1:${port}/hooks/github`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-GitHub-Delivery': DELIVERY,
          'X-GitHub-Event': 'push',
          'X-Hub-Signature-256': `sha256=${hex(SECRET, json).toUpperCase()}`,
        },
        body: json,
      });
      expect(await answer.json()).toMatchObject({ ok: true, deliveryId: DELIVERY, eventName: 'push' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('refuses every delivery while the secret is empty, since anyone can compute an unkeyed HMAC', () => {
    const headers = { 'x-hub-signature-256': `sha256=${hex('', 'x')}` };
    expect(refusal(verifyWebhook('github', '', { headers, body: Buffer.from('x') }))).toMatch(
      /no secret set/,
    );
  });
});

describe('stripe', () => {
  const SECRET = 'whsec_5c3f6a1e0b8d4c7a9e2f1b3d6c8a0e4f';
  const EVENT =
    '{"id":"evt_1OE6xQ2eZvKYlo2C0A1b2C3d","object":"event","type":"payment_intent.succeeded",' +
    '"data":{"object":{"id":"pi_3OE6xP2eZvKYlo2C1f2g3h4i","object":"payment_intent","amount":2000,"currency":"usd"}}}';
  const T = 1_700_000_000;
  const NOW = T * 1000 + 12_000;
  const body = Buffer.from(EVENT);
  /** Stripe's documented scheme: v1 = hex HMAC-SHA256 of "<t>.<body>", keyed with the whole whsec_ secret. */
  const v1 = (t: number, secret = SECRET) => hex(secret, `${t}.${EVENT}`);
  const verify = (signature: string, now = NOW) =>
    verifyWebhook('stripe', SECRET, { headers: { 'stripe-signature': signature }, body }, now);

  it('accepts an event signed as Stripe documents (t and v1; v0 is ignored), its id and type read from the body', () => {
    // This v1 was computed apart, with `openssl dgst -sha256 -hmac`, over "1700000000.<EVENT>".
    const signature = `t=${T},v1=38b5b66c120e55cb782730597d6f1c4525e11c4e057a0d9e83ec19f72b8a9c5b,v0=${'0'.repeat(64)}`;
    expect(verify(signature)).toEqual({
      ok: true,
      deliveryId: 'evt_1OE6xQ2eZvKYlo2C0A1b2C3d',
      eventName: 'payment_intent.succeeded',
      payload: JSON.parse(EVENT),
      encoding: 'json',
    });
  });

  it('accepts two v1 signatures of which one is valid, as while a secret is rolled', () => {
    expect(verify(`t=${T},v1=${v1(T, 'whsec_the_old_secret')},v1=${v1(T)}`)).toMatchObject({ ok: true });
  });

  it('refuses a timestamp 6 minutes old', () => {
    expect(refusal(verify(`t=${T},v1=${v1(T)}`, T * 1000 + 360_000))).toBe(
      'timestamp outside the tolerance (300 s from now, either way)',
    );
  });

  it('refuses a timestamp 6 minutes ahead of now', () => {
    expect(refusal(verify(`t=${T},v1=${v1(T)}`, T * 1000 - 360_000))).toMatch(
      /timestamp outside the tolerance/,
    );
  });

  it('refuses an event signed with another secret', () => {
    const reason = refusal(verify(`t=${T},v1=${v1(T, 'whsec_someone_else')}`));
    expect(reason).toBe(
      'no v1 signature in Stripe-Signature matches the body (another secret, or a changed body)',
    );
    expect(reason).not.toContain(v1(T));
  });

  it('refuses a timestamp changed after signing, as it is part of what is signed', () => {
    expect(refusal(verify(`t=${T + 1},v1=${v1(T)}`))).toMatch(/no v1 signature .* matches/);
  });

  it('refuses a header without a timestamp, without a v1 signature, or no header at all', () => {
    expect(refusal(verify(`v1=${v1(T)}`))).toBe('Stripe-Signature has no timestamp (t=<unix seconds>)');
    expect(refusal(verify(`t=${T},v0=${v1(T)}`))).toBe('Stripe-Signature has no v1 signature');
    expect(refusal(verifyWebhook('stripe', SECRET, { headers: {}, body }, NOW))).toBe(
      'missing Stripe-Signature header',
    );
  });
});

describe('hmac-sha256', () => {
  const SECRET = 'a shared secret';
  const body = Buffer.from('{"order":42,"status":"paid"}');
  const signatureOf = (signed: Buffer) => ({ 'x-signature-256': `sha256=${hex(SECRET, signed)}` });
  const signed = signatureOf(body);
  const verify = (headers: IncomingHttpHeaders, sent = body, secret = SECRET) =>
    verifyWebhook('hmac-sha256', secret, { headers, body: sent });

  it('accepts a signed delivery with its delivery id and event name', () => {
    expect(verify({ ...signed, 'x-delivery-id': 'd-0001', 'x-event': 'order.paid' })).toEqual({
      ok: true,
      deliveryId: 'd-0001',
      eventName: 'order.paid',
      payload: { order: 42, status: 'paid' },
      encoding: 'json',
    });
  });

  it('accepts a signed delivery without a delivery id or event name', () => {
    expect(verify(signed)).toMatchObject({ ok: true, deliveryId: null, eventName: null });
  });

  it('reads header names in any case from a hand-built header map', () => {
    const headers = { 'X-Signature-256': signed['x-signature-256'], 'X-Delivery-Id': 'd-0002' };
    expect(verify(headers)).toMatchObject({ ok: true, deliveryId: 'd-0002' });
  });

  it('gives a body that is not UTF-8 as base64 text, and plain text as text', () => {
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    expect(verify(signatureOf(binary), binary)).toMatchObject({ payload: '//4AgA==', encoding: 'base64' });
    const text = Buffer.from('café, not JSON');
    expect(verify(signatureOf(text), text)).toMatchObject({ payload: 'café, not JSON', encoding: 'text' });
  });

  it('refuses a missing, a repeated, or a wrong signature', () => {
    expect(refusal(verify({}))).toBe('missing X-Signature-256 header');
    const twice = { 'x-signature-256': [signed['x-signature-256'], signed['x-signature-256']] };
    expect(refusal(verify(twice))).toMatch(/must be sha256= followed by 64 hex digits/);
    expect(refusal(verify(signed, body, 'not the secret'))).toMatch(/does not match the body/);
  });
});
