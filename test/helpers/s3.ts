/** An AWS SDK S3 client pointed at a test platform's S3 API, with a key pair of scope storage. */
import { S3Client } from '@aws-sdk/client-s3';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll } from 'vitest';
import { api, type Gust } from './gust.js';

const clients: S3Client[] = [];
afterAll(() => {
  for (const c of clients.splice(0)) c.destroy();
});

export interface KeyPair {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export async function storageKey(g: Gust, scope = 'storage'): Promise<KeyPair> {
  const r = await api<KeyPair>(g, 'POST', '/keys', { scope });
  if (r.status !== 201 && r.status !== 200)
    throw new Error(`keys create: ${r.status} ${JSON.stringify(r.body)}`);
  return { accessKeyId: r.body.accessKeyId, secretAccessKey: r.body.secretAccessKey };
}

export function s3Client(g: Gust, credentials: KeyPair, extra: Record<string, unknown> = {}): S3Client {
  const client = new S3Client({
    endpoint: g.s3Url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
    maxAttempts: 1,
    ...extra,
  });
  clients.push(client);
  return client;
}

/** A SigV4 signer of S3 requests as the SDK signs them, for requests the tests build by hand (raw paths kept). */
export function s3Signer(credentials: KeyPair): SignatureV4 {
  return new SignatureV4({
    credentials,
    region: 'us-east-1',
    service: 's3',
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: false,
  });
}
