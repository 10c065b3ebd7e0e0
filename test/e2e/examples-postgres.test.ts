/**
 * examples/orders-receipt, deployed from its folder as a user would, against the real PostgreSQL:
 * a database of its own (dropped after) with the example's orders.sql, the secret set, then a new
 * order becomes a receipt in the `receipts` bucket.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { gust } from '../cli/helpers.js';
import { cli, deploy, type Gust, ROOT, startGust, WAIT } from '../helpers/gust.js';
import { s3Client, storageKey } from '../helpers/s3.js';
import { POSTGRES, POSTGRES_URL, servicesFor } from '../helpers/services.js';

const up = await servicesFor('examples/orders-receipt (test/e2e/examples-postgres.test.ts)', [POSTGRES]);
const EXAMPLE = path.join(ROOT, 'examples', 'orders-receipt');

describe.skipIf(!up)('examples/orders-receipt (a new row in orders writes a receipt to a bucket)', () => {
  const database = `gust_ex_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  const shop = new pg.Client({ connectionString: POSTGRES_URL.replace(/\/test$/, `/${database}`) });
  let g: Gust;

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await shop.connect();
    await shop.query(await readFile(path.join(EXAMPLE, 'orders.sql'), 'utf8'));
    g = await startGust();
    const set = await gust(['secrets', 'set', 'SHOP_DB'], {
      env: { GUST_URL: g.url, GUST_API_KEY: g.key },
      input: POSTGRES_URL.replace(/\/test$/, `/${database}`),
    });
    expect(set.code, set.stderr).toBe(0);
  });

  afterAll(async () => {
    if (g) await cli(g, ['rm', 'receipt', '--yes']);
    await g?.stop();
    await shop.end().catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('writes receipts/<id>.txt for an order inserted', async () => {
    await deploy(g, EXAMPLE);
    await vi.waitFor(async () => {
      const ls = await cli(g, ['ls', '--json']);
      expect(ls.stdout).toContain('"state":"running"');
    }, WAIT);
    const { rows } = await shop.query<{ id: string }>(
      `INSERT INTO orders (customer, items, total, paid, placed_at)
       VALUES ('Ada', '[{"name": "tea", "qty": 2, "price": 4.5}, {"name": "scone", "qty": 1, "price": 3}]', 12, true,
               '2026-03-04T05:06:07Z') RETURNING id`,
    );
    const id = rows[0]!.id;
    const s3 = s3Client(g, await storageKey(g));
    const receipt = await vi.waitFor(async () => {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'receipts', Key: `${id}.txt` }));
      return got.Body?.transformToString();
    }, WAIT);
    expect(receipt).toBe(
      [
        `Receipt for order ${id}`,
        'Customer: Ada',
        'Placed: 2026-03-04T05:06:07.000Z',
        '',
        '2 x tea @ 4.50 = 9.00',
        '1 x scone @ 3.00 = 3.00',
        '',
        'Total: 12.00 (paid)',
        '',
      ].join('\n'),
    );
  });
});
