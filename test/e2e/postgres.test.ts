/**
 * postgres triggers end to end, against the real PostgreSQL on 127.0.0.1:5432 (database `test`):
 * inserts, updates and deletes reach the function with their old and new rows, typed; changes made
 * while Gust is stopped arrive after it restarts, once each; a failing function gets its change
 * again; removal leaves nothing in the database; a missing table, wrong credentials and a missing
 * secret are said, never crash the platform, and mend once fixed. Each test works in a schema of
 * its own, dropped after.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { captureNames, capturePlatform } from '../../src/triggers/postgres/capture.js';
import type { SourceState } from '../../src/triggers/sources.js';
import { gust } from '../cli/helpers.js';
import { api, cli, deploy, type Gust, records, startGust, WAIT, writeProject } from '../helpers/gust.js';
import { POSTGRES, POSTGRES_URL, servicesFor } from '../helpers/services.js';

const up = await servicesFor('postgres triggers (test/e2e/postgres.test.ts)', [POSTGRES]);

const FNS = `
export const record = async (event) => {
  console.log('event ' + JSON.stringify(event));
};
export const flaky = async (event, ctx) => {
  const kv = ctx.kv('attempts');
  const key = String(event.data.new.id);
  const n = Number((await kv.get(key)) ?? 0) + 1;
  await kv.put(key, String(n));
  if (event.data.new.item === 'stubborn' && n <= 3) throw new Error('failing on attempt ' + n);
  console.log('event ' + JSON.stringify(event));
};
`;

interface ChangeEvent {
  type: string;
  source: string;
  subject: string;
  data: {
    schema: string;
    table: string;
    old: Record<string, unknown> | null;
    new: Record<string, unknown> | null;
  };
}

/** The events a function logged, in capture order. */
async function events(g: Gust, fn: string): Promise<ChangeEvent[]> {
  return (await records(g, fn, 500))
    .filter((r) => r.status === 'ok')
    .flatMap((r) => r.logs.split('\n'))
    .flatMap((line) => /\tevent (\{.*)$/.exec(line)?.slice(1) ?? [])
    .map((json) => JSON.parse(json) as ChangeEvent)
    .sort((a, b) => Number(a.subject) - Number(b.subject));
}

async function sourcesOf(g: Gust, fn: string): Promise<SourceState[]> {
  const r = await api<{ sources: SourceState[] }>(g, 'GET', `/functions/${fn}`);
  return r.body.sources;
}

async function setSecret(g: Gust, name: string, value: string): Promise<void> {
  const r = await gust(['secrets', 'set', name], {
    env: { GUST_URL: g.url, GUST_API_KEY: g.key },
    input: `${value}\n`,
  });
  if (r.code !== 0) throw new Error(`gust secrets set ${name} failed: ${r.stderr}`);
}

function manifest(schema: string, fns: Record<string, { table: string; handler?: string; extra?: string }>) {
  const lines = ['kv: [attempts]', 'functions:'];
  for (const [name, f] of Object.entries(fns)) {
    lines.push(
      `  ${name}:`,
      `    handler: fns.mjs#${f.handler ?? 'record'}`,
      '    scale: { max: 1 }',
      ...(f.extra ? [`    ${f.extra}`] : []),
      '    triggers:',
      `      - postgres: { connection: PG_URL, table: ${schema}.${f.table} }`,
    );
  }
  return `${lines.join('\n')}\n`;
}

describe.skipIf(!up)('postgres triggers', () => {
  let g: Gust;
  let db: pg.Client;
  const schemas: string[] = [];

  /** A schema of the test's own, dropped after the suite. */
  async function newSchema(): Promise<string> {
    const schema = `gust_t_${randomBytes(4).toString('hex')}`;
    schemas.push(schema);
    await db.query(`CREATE SCHEMA ${schema}`);
    return schema;
  }

  async function deployed(schema: string, fns: Parameters<typeof manifest>[1]): Promise<string> {
    const dir = await writeProject({ 'gust.yaml': manifest(schema, fns), 'fns.mjs': FNS });
    await deploy(g, dir);
    return dir;
  }

  /** The names of a capture of this test's platform (its id comes from its data folder's master key). */
  const namesOf = async (fn: string, t: { schema: string; table: string }) => {
    const master = Buffer.from(
      (await readFile(path.join(g.dataDir, 'master.key'), 'utf8')).trim(),
      'base64url',
    );
    return captureNames(capturePlatform(master), fn, t);
  };

  const running = (fn: string) =>
    vi.waitFor(async () => expect((await sourcesOf(g, fn)).map((s) => s.state)).toEqual(['running']), WAIT);

  beforeAll(async () => {
    db = new pg.Client({ connectionString: POSTGRES_URL });
    await db.connect();
    g = await startGust();
    await setSecret(g, 'PG_URL', POSTGRES_URL);
  });

  afterAll(async () => {
    // Removing the functions tears their captures down; the schemas then go with their tables.
    const fns = await api<{ functions: { name: string }[] }>(g, 'GET', '/functions');
    for (const f of fns.body.functions ?? []) await cli(g, ['rm', f.name, '--yes']);
    await g?.stop();
    for (const s of schemas) await db.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await db?.end();
  });

  it('delivers inserts, updates and deletes with the old and new rows, typed as PostgreSQL gives them', async () => {
    const schema = await newSchema();
    await db.query(`CREATE TABLE ${schema}.orders (
      id serial PRIMARY KEY, item text, qty int, price numeric(8,2), paid boolean,
      meta jsonb, placed timestamptz)`);
    await deployed(schema, { 'pg-typed': { table: 'orders' } });
    await running('pg-typed');
    await db.query(
      `INSERT INTO ${schema}.orders (item, qty, price, paid, meta, placed)
       VALUES ('tea', 2, 4.50, false, '{"gift": true}', '2026-01-02T03:04:05.678Z')`,
    );
    await db.query(`UPDATE ${schema}.orders SET paid = true, qty = 3 WHERE id = 1`);
    await db.query(`DELETE FROM ${schema}.orders WHERE id = 1`);
    await vi.waitFor(async () => expect(await events(g, 'pg-typed')).toHaveLength(3), WAIT);
    const [ins, upd, del] = await events(g, 'pg-typed');
    const row = {
      id: 1,
      item: 'tea',
      qty: 2,
      price: 4.5,
      paid: false,
      meta: { gift: true },
      placed: '2026-01-02T03:04:05.678+00:00',
    };
    expect(ins).toMatchObject({
      type: 'gust.postgres.insert',
      source: `/gust/postgres/${schema}.orders`,
      data: { schema, table: 'orders', old: null, new: row },
    });
    expect(upd).toMatchObject({
      type: 'gust.postgres.update',
      data: { old: row, new: { ...row, paid: true, qty: 3 } },
    });
    expect(del).toMatchObject({
      type: 'gust.postgres.delete',
      data: { old: { ...row, paid: true, qty: 3 }, new: null },
    });
  });

  it('delivers the rows written while Gust was stopped once it is back, none twice after a clean stop', async () => {
    const schema = await newSchema();
    await db.query(`CREATE TABLE ${schema}.orders (id serial PRIMARY KEY, item text)`);
    await deployed(schema, { 'pg-restart': { table: 'orders' } });
    await running('pg-restart');
    await db.query(`INSERT INTO ${schema}.orders (item) VALUES ('before')`);
    await vi.waitFor(async () => expect(await events(g, 'pg-restart')).toHaveLength(1), WAIT);
    expect(await g.stop()).toBe(0);
    await db.query(
      `INSERT INTO ${schema}.orders (item) SELECT 'while down ' || n FROM generate_series(1, 5) n`,
    );
    g = await startGust({ dataDir: g.dataDir });
    await vi.waitFor(async () => expect(await events(g, 'pg-restart')).toHaveLength(6), WAIT);
    const items = (await events(g, 'pg-restart')).map((e) => e.data.new?.item);
    expect(items).toEqual(['before', ...[1, 2, 3, 4, 5].map((n) => `while down ${n}`)]);
    const outbox = (await namesOf('pg-restart', { schema, table: 'orders' })).outbox;
    await vi.waitFor(async () => expect((await db.query(`SELECT 1 FROM ${outbox}`)).rowCount).toBe(0), WAIT);
  });

  it('gives a change again to a function that fails three times, until it succeeds, before the changes after it', async () => {
    const schema = await newSchema();
    await db.query(`CREATE TABLE ${schema}.orders (id serial PRIMARY KEY, item text)`);
    await deployed(schema, {
      'pg-flaky': {
        table: 'orders',
        handler: 'flaky',
        extra: 'permissions: [kv:attempts:read, kv:attempts:write]\n    retries: { max: 3, backoff: 100ms }',
      },
    });
    await running('pg-flaky');
    await db.query(`INSERT INTO ${schema}.orders (item) VALUES ('stubborn')`);
    await db.query(`INSERT INTO ${schema}.orders (item) VALUES ('next')`);
    await vi.waitFor(async () => expect(await events(g, 'pg-flaky')).toHaveLength(2), WAIT);
    const runs = (await records(g, 'pg-flaky')).filter((r) => r.trigger === 'postgres').reverse();
    const stubborn = runs.filter((r) => r.logs.includes('stubborn') || r.error?.includes('failing'));
    expect(stubborn.map((r) => r.status)).toEqual(['error', 'error', 'error', 'ok']);
    expect(new Set(stubborn.map((r) => r.id)).size).toBe(1);
    // In commit order: the change after it ran only once the failing one had succeeded.
    expect(runs.map((r) => r.status)).toEqual(['error', 'error', 'error', 'ok', 'ok']);
    expect(runs[4]!.logs).toContain('"item":"next"');
  });

  it('runs the changes of a table in the order they were written, past ten of them (one transaction)', async () => {
    const schema = await newSchema();
    await db.query(`CREATE TABLE ${schema}.orders (id int PRIMARY KEY, v int)`);
    await deployed(schema, { 'pg-order': { table: 'orders' } });
    await running('pg-order');
    const steps = [
      `INSERT INTO ${schema}.orders VALUES (1, 0)`,
      ...Array.from({ length: 11 }, (_, i) => `UPDATE ${schema}.orders SET v = ${i + 1} WHERE id = 1`),
    ];
    await db.query(`BEGIN; ${steps.join('; ')}; COMMIT`);
    await vi.waitFor(async () => expect(await events(g, 'pg-order')).toHaveLength(12), WAIT);
    // the order they ran in: records are written as runs end, newest first in the listing
    const ran = (await records(g, 'pg-order', 50))
      .reverse()
      .map((r) => /\tevent (\{.*)$/m.exec(r.logs)?.[1])
      .map((json) => (JSON.parse(json!) as ChangeEvent).data.new?.v);
    expect(ran).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('installs the capture again when a migration drops and makes the table again', async () => {
    const schema = await newSchema();
    await db.query(`CREATE TABLE ${schema}.orders (id int PRIMARY KEY, item text)`);
    await deployed(schema, { 'pg-remade': { table: 'orders' } });
    await running('pg-remade');
    await db.query(`INSERT INTO ${schema}.orders VALUES (1, 'before')`);
    await vi.waitFor(async () => expect(await events(g, 'pg-remade')).toHaveLength(1), WAIT);
    await db.query(
      `DROP TABLE ${schema}.orders; CREATE TABLE ${schema}.orders (id int PRIMARY KEY, item text)`,
    );
    const n = await namesOf('pg-remade', { schema, table: 'orders' });
    // the trigger comes back on the new table, and what is written then is delivered
    await vi.waitFor(async () => {
      const r = await db.query('SELECT 1 FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = $2', [
        `${schema}.orders`,
        n.trigger,
      ]);
      expect(r.rowCount).toBe(1);
    }, WAIT);
    await db.query(`INSERT INTO ${schema}.orders VALUES (2, 'after')`);
    await vi.waitFor(async () => expect(await events(g, 'pg-remade')).toHaveLength(2), WAIT);
    expect((await events(g, 'pg-remade')).map((e) => e.data.new?.item)).toEqual(['before', 'after']);
  });

  it('gives two platforms on one database a capture each, even for a function of one name', async () => {
    const schema = await newSchema();
    await db.query(`CREATE TABLE ${schema}.orders (id int PRIMARY KEY)`);
    const dir = await deployed(schema, { 'pg-twice': { table: 'orders' } });
    const other = await startGust();
    try {
      await setSecret(other, 'PG_URL', POSTGRES_URL);
      await deploy(other, dir);
      await running('pg-twice');
      await vi.waitFor(
        async () => expect((await sourcesOf(other, 'pg-twice')).map((s) => s.state)).toEqual(['running']),
        WAIT,
      );
      await db.query(`INSERT INTO ${schema}.orders SELECT n FROM generate_series(1, 20) n`);
      // each platform gets every change, not a share of them
      await vi.waitFor(async () => expect(await events(g, 'pg-twice')).toHaveLength(20), WAIT);
      await vi.waitFor(async () => expect(await events(other, 'pg-twice')).toHaveLength(20), WAIT);
      // and removing it from one leaves the other's capture in place
      expect((await cli(other, ['rm', 'pg-twice', '--yes'])).code).toBe(0);
      await db.query(`INSERT INTO ${schema}.orders VALUES (21)`);
      await vi.waitFor(async () => expect(await events(g, 'pg-twice')).toHaveLength(21), WAIT);
    } finally {
      await other.stop();
    }
  });

  it('leaves no trigger, function, outbox table or schema of its own behind when the trigger is removed', async () => {
    const schema = await newSchema();
    await db.query(`CREATE TABLE ${schema}.orders (id serial PRIMARY KEY, item text)`);
    await deployed(schema, { 'pg-removed': { table: 'orders' } });
    await running('pg-removed');
    const n = await namesOf('pg-removed', { schema, table: 'orders' });
    const left = async () =>
      (
        await db.query<{ trigger: number; outbox: string | null; fn: string | null }>(
          `SELECT (SELECT count(*)::int FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = $2) AS trigger,
                  to_regclass($3)::text AS outbox, to_regprocedure($4)::text AS fn`,
          [`${schema}.orders`, n.trigger, n.outbox, `${n.fn}()`],
        )
      ).rows[0];
    expect(await left()).toEqual({ trigger: 1, outbox: n.outbox, fn: `${n.fn}()` });
    await db.query(`INSERT INTO ${schema}.orders (item) VALUES ('pending')`); // removal drops what waits too
    const r = await cli(g, ['rm', 'pg-removed', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(await left()).toEqual({ trigger: 0, outbox: null, fn: null });
    // Removed twice (a retry): nothing to do, no error.
    await deployed(schema, { 'pg-removed': { table: 'orders' } });
    await running('pg-removed');
    expect((await cli(g, ['rm', 'pg-removed', '--yes'])).code).toBe(0);
    expect(await left()).toEqual({ trigger: 0, outbox: null, fn: null });
  });

  it('removes the capture of a trigger removed while its database was unreachable once it is reachable, across a restart', async () => {
    const schema = await newSchema();
    await db.query(`CREATE TABLE ${schema}.orders (id int PRIMARY KEY)`);
    await setSecret(g, 'PG_LATER', POSTGRES_URL);
    const dir = await writeProject({
      'gust.yaml': `kv: [attempts]\nfunctions:\n  pg-later:\n    handler: fns.mjs#record\n    triggers:\n      - postgres: { connection: PG_LATER, table: ${schema}.orders }\n`,
      'fns.mjs': FNS,
    });
    await deploy(g, dir);
    await running('pg-later');
    const n = await namesOf('pg-later', { schema, table: 'orders' });
    const outbox = async () => (await db.query(`SELECT to_regclass($1)::text AS t`, [n.outbox])).rows[0]?.t;
    expect(await outbox()).toBe(n.outbox);
    await setSecret(g, 'PG_LATER', 'postgres://postgres@127.0.0.1:1/test'); // the database is gone
    expect((await cli(g, ['rm', 'pg-later', '--yes'])).code).toBe(0);
    await vi.waitFor(() => expect(g.stderr()).toContain('could not remove the capture of pg-later'), WAIT);
    expect(await outbox()).toBe(n.outbox);
    expect(await g.stop()).toBe(0);
    g = await startGust({ dataDir: g.dataDir });
    await setSecret(g, 'PG_LATER', POSTGRES_URL); // back
    await vi.waitFor(async () => expect(await outbox()).toBeNull(), WAIT);
    const trigger = await db.query('SELECT 1 FROM pg_trigger WHERE tgname = $1', [n.trigger]);
    expect(trigger.rowCount).toBe(0);
  });

  it('follows a redeploy: only the changes on lists, and a table no longer named is let go', async () => {
    const schema = await newSchema();
    await db.query(`CREATE TABLE ${schema}.a (id int PRIMARY KEY)`);
    await db.query(`CREATE TABLE ${schema}.b (id int PRIMARY KEY)`);
    const yaml = (table: string, on: string) =>
      `kv: [attempts]\nfunctions:\n  pg-moves:\n    handler: fns.mjs#record\n    scale: { max: 1 }\n    triggers:\n      - postgres: { connection: PG_URL, table: ${schema}.${table}, on: ${on} }\n`;
    const dir = await writeProject({ 'gust.yaml': yaml('a', '[insert, delete]'), 'fns.mjs': FNS });
    await deploy(g, dir);
    await running('pg-moves');
    await writeFile(path.join(dir, 'gust.yaml'), yaml('a', '[delete]'));
    await deploy(g, dir);
    await running('pg-moves');
    await db.query(`INSERT INTO ${schema}.a VALUES (1)`);
    await db.query(`DELETE FROM ${schema}.a`);
    await vi.waitFor(
      async () => expect((await events(g, 'pg-moves')).map((e) => e.type)).toEqual(['gust.postgres.delete']),
      WAIT,
    );
    await writeFile(path.join(dir, 'gust.yaml'), yaml('b', '[insert]'));
    await deploy(g, dir);
    await vi.waitFor(
      async () =>
        expect((await sourcesOf(g, 'pg-moves'))[0]).toMatchObject({
          trigger: `postgres ${schema}.b`,
          state: 'running',
        }),
      WAIT,
    );
    const a = await namesOf('pg-moves', { schema, table: 'a' });
    const gone = await db.query(
      `SELECT (SELECT count(*)::int FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = $2) AS trigger, to_regclass($3)::text AS outbox`,
      [`${schema}.a`, a.trigger, a.outbox],
    );
    expect(gone.rows[0]).toEqual({ trigger: 0, outbox: null });
    await db.query(`INSERT INTO ${schema}.b VALUES (2)`);
    await vi.waitFor(
      async () => expect((await events(g, 'pg-moves')).some((e) => e.data.new?.id === 2)).toBe(true),
      WAIT,
    );
    expect((await cli(g, ['rm', 'pg-moves', '--yes'])).code).toBe(0);
  });

  it('says failing with the reason for a table that does not exist, and runs once it is created', async () => {
    const schema = await newSchema();
    await deployed(schema, { 'pg-notable': { table: 'later' } });
    await vi.waitFor(async () => {
      const [state] = await sourcesOf(g, 'pg-notable');
      expect(state).toMatchObject({ trigger: `postgres ${schema}.later`, state: 'failing' });
      expect(state?.reason).toContain(`table ${schema}.later does not exist`);
    }, WAIT);
    await db.query(`CREATE TABLE ${schema}.later (id int PRIMARY KEY)`);
    await running('pg-notable');
    await db.query(`INSERT INTO ${schema}.later VALUES (7)`);
    await vi.waitFor(
      async () => expect((await events(g, 'pg-notable'))[0]?.data.new).toEqual({ id: 7 }),
      WAIT,
    );
    expect((await cli(g, ['rm', 'pg-notable', '--yes'])).code).toBe(0);
  });

  it('says failing for wrong credentials and an unreachable server, and mends when the secret is fixed', async () => {
    const schema = await newSchema();
    await db.query(`CREATE TABLE ${schema}.orders (id int PRIMARY KEY)`);
    await setSecret(g, 'PG_BAD', 'postgres://no_such_role@127.0.0.1:5432/test');
    const dir = await writeProject({
      'gust.yaml': `kv: [attempts]\nfunctions:\n  pg-creds:\n    handler: fns.mjs#record\n    triggers:\n      - postgres: { connection: PG_BAD, table: ${schema}.orders }\n`,
      'fns.mjs': FNS,
    });
    await deploy(g, dir);
    await vi.waitFor(async () => {
      const [state] = await sourcesOf(g, 'pg-creds');
      expect(state?.state).toBe('failing');
      expect(state?.reason).toMatch(/PG_BAD.*no_such_role/);
    }, WAIT);
    await setSecret(g, 'PG_BAD', 'postgres://postgres@127.0.0.1:1/test');
    await vi.waitFor(async () => {
      const [state] = await sourcesOf(g, 'pg-creds');
      expect(state?.reason).toContain('ECONNREFUSED');
    }, WAIT);
    await setSecret(g, 'PG_BAD', POSTGRES_URL);
    await running('pg-creds');
    expect((await api(g, 'GET', '/functions')).status).toBe(200); // the platform carried on throughout
    expect((await cli(g, ['rm', 'pg-creds', '--yes'])).code).toBe(0);
  });

  it('refuses a deploy naming a secret that does not exist, by key path', async () => {
    const dir = await writeProject({
      'gust.yaml': `kv: [attempts]\nfunctions:\n  pg-nosecret:\n    handler: fns.mjs#record\n    triggers:\n      - postgres: { connection: NO_SUCH_DB, table: orders }\n`,
      'fns.mjs': FNS,
    });
    const r = await cli(g, ['deploy', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('functions.pg-nosecret.triggers[0].postgres.connection: no secret NO_SUCH_DB');
  });
});
