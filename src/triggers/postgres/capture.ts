/**
 * postgres/capture: what a `postgres` trigger sets up inside the user's database, and how Gust
 * reads it back. Capture by trigger and outbox, not logical replication: logical decoding needs
 * `wal_level = logical` (a server restart, and a setting many managed and shared servers keep at
 * `replica`, as the one Gust is tested against does) and a replication slot, which holds WAL on the
 * user's disk for as long as Gust is away. The outbox asks for none of that: any PostgreSQL 11+,
 * a role that may create a schema and a trigger on the table (its owner), and it costs each write
 * to the table one more row insert in the same transaction (so a rolled-back write leaves nothing).
 *
 * Per trigger (its `key`, a hash of function and table): the schema `gust_capture` (shared, dropped
 * with its last capture), the outbox table `gust_capture.o_<key>`, its function `f_<key>` (SECURITY
 * DEFINER, so every role that may write the table may write the outbox) and the trigger `gust_<key>`
 * on the table. Each change row carries a sequence number (`seq`: write order, which for one row is
 * its commit order, as its row lock serializes the writers), the row before and after as jsonb
 * (`to_jsonb` with the time zone fixed to UTC: numbers, booleans, JSON and ISO timestamps), the time
 * of the write and a UUID that becomes the invocation id (so a change queued twice is deduplicated).
 * Gust reads the outbox in `seq` order and deletes by `seq` only what it has queued: a change that
 * commits late with a lower `seq` is read at the next drain, never skipped.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { PostgresChange, PostgresTrigger } from '../../manifest/types.js';

export const CAPTURE_SCHEMA = 'gust_capture';

/** The names a trigger's capture uses in the user's database. */
export interface CaptureNames {
  readonly key: string;
  /** `"schema"."table"`, quoted. */
  readonly table: string;
  readonly outbox: string;
  readonly fn: string;
  readonly trigger: string;
  /** The LISTEN/NOTIFY channel the capture function signals. */
  readonly channel: string;
}

/** A platform's id in its captures' names, from its master secret: stable for its data folder. */
export function capturePlatform(master: Buffer): string {
  return createHash('sha256').update('capture:').update(master).digest('hex').slice(0, 12);
}

export function captureNames(
  platform: string,
  fn: string,
  t: Pick<PostgresTrigger, 'schema' | 'table'>,
): CaptureNames {
  // the platform's own id is in the name: two platforms (staging and production) with a function
  // of one name on one table each get a capture of their own, never half of one
  const key = createHash('sha256')
    .update(`${platform}\0${fn}\0${t.schema}\0${t.table}`)
    .digest('hex')
    .slice(0, 16);
  return {
    key,
    table: `${quote(t.schema)}.${quote(t.table)}`,
    outbox: `${CAPTURE_SCHEMA}.o_${key}`,
    fn: `${CAPTURE_SCHEMA}.f_${key}`,
    trigger: `gust_${key}`,
    channel: `gust_${key}`,
  };
}

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** Why the table cannot be captured (it does not exist), or undefined. */
export async function tableProblem(client: pg.Client, t: PostgresTrigger): Promise<string | undefined> {
  const found = await client.query<{ kind: string | null }>(
    `SELECT (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)) AS kind`,
    [captureNames('', '', t).table],
  );
  const kind = found.rows[0]?.kind ?? null;
  const db = client.database === undefined ? 'the database' : `database ${client.database}`;
  if (kind === null) {
    return `table ${t.schema}.${t.table} does not exist in ${db}: create it, or fix table in gust.yaml`;
  }
  if (kind !== 'r' && kind !== 'p')
    return `${t.schema}.${t.table} in ${db} is not a table (a view?): name a table`;
  return undefined;
}

const EVENTS: Record<PostgresChange, string> = { insert: 'INSERT', update: 'UPDATE', delete: 'DELETE' };
/** pg_trigger.tgtype's bits for each event (TRIGGER_TYPE_INSERT, _DELETE, _UPDATE). */
const TGTYPE: Record<PostgresChange, number> = { insert: 4, delete: 8, update: 16 };
const TGTYPE_EVENTS = 4 | 8 | 16;
/**
 * Creating a trigger locks the table against writes (dropping one, against reads too): a capture
 * that waits longer than this for its lock (behind a long transaction, with the application's
 * queries queued behind it) gives up, said as the trigger's state, and tries again later.
 */
const LOCK_TIMEOUT = '5s';

/**
 * Sets the capture up, or brings it to this trigger's `on`: idempotent, one transaction. The table's
 * trigger is only made (or remade) when it is missing or runs on other events, so a restart of Gust
 * takes no lock on the user's table.
 */
export async function install(client: pg.Client, n: CaptureNames, t: PostgresTrigger): Promise<void> {
  const events = t.on.map((op) => EVENTS[op]).join(' OR ');
  const mask = t.on.reduce((bits, op) => bits | TGTYPE[op], 0);
  await transaction(client, async () => {
    await client.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
    // Two captures installed at once may both try to create the schema: one waits for the other.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('${CAPTURE_SCHEMA}'))`);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${CAPTURE_SCHEMA}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${n.outbox} (
      seq bigserial PRIMARY KEY,
      op text NOT NULL,
      old jsonb,
      new jsonb,
      at timestamptz NOT NULL DEFAULT clock_timestamp(),
      id uuid NOT NULL DEFAULT gen_random_uuid()
    )`);
    await client.query(`CREATE OR REPLACE FUNCTION ${n.fn}() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC' AS $$
      BEGIN
        INSERT INTO ${n.outbox} (op, old, new) VALUES (
          lower(TG_OP),
          CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
          CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
        PERFORM pg_notify('${n.channel}', '');
        RETURN NULL;
      END $$`);
    const existing = await client.query<{ tgtype: number }>(
      'SELECT tgtype FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = $2',
      [n.table, n.trigger],
    );
    const current = existing.rows[0];
    if (current !== undefined && (current.tgtype & TGTYPE_EVENTS) === mask) return;
    if (current !== undefined) await client.query(`DROP TRIGGER ${n.trigger} ON ${n.table}`);
    await client.query(
      `CREATE TRIGGER ${n.trigger} AFTER ${events} ON ${n.table} FOR EACH ROW EXECUTE FUNCTION ${n.fn}()`,
    );
  });
}

/**
 * Whether the capture's trigger is still on its table: a migration that drops and creates the table
 * again takes the trigger with it, and changes after that would go nowhere.
 */
export async function installed(client: pg.Client, n: CaptureNames): Promise<boolean> {
  const r = await client.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = $2',
    [n.table, n.trigger],
  );
  return (r.rows[0]?.n ?? 0) > 0;
}

/** Removes the capture, whatever of it exists (idempotent); the schema too once it holds no other. */
export async function uninstall(client: pg.Client, n: CaptureNames): Promise<void> {
  await transaction(client, async () => {
    await client.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('${CAPTURE_SCHEMA}'))`);
    const table = await client.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [
      n.table,
    ]);
    // A dropped table took its trigger with it.
    if (table.rows[0]?.present) await client.query(`DROP TRIGGER IF EXISTS ${n.trigger} ON ${n.table}`);
    await client.query(`DROP TABLE IF EXISTS ${n.outbox}`);
    await client.query(`DROP FUNCTION IF EXISTS ${n.fn}()`);
    const left = await client.query<{ objects: number }>(
      `SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = $1)
            + (SELECT count(*) FROM pg_proc p JOIN pg_namespace s ON s.oid = p.pronamespace WHERE s.nspname = $1)
            AS objects`,
      [CAPTURE_SCHEMA],
    );
    if (Number(left.rows[0]?.objects ?? 1) === 0)
      await client.query(`DROP SCHEMA IF EXISTS ${CAPTURE_SCHEMA}`);
  });
}

/** A change as the outbox keeps it. */
export interface CapturedChange {
  readonly seq: string;
  readonly id: string;
  readonly op: PostgresChange;
  readonly old: Record<string, unknown> | null;
  readonly new: Record<string, unknown> | null;
  readonly at: Date;
}

/** The oldest `max` changes waiting, in `seq` order. */
export async function readChanges(
  client: pg.Client,
  n: CaptureNames,
  max: number,
): Promise<CapturedChange[]> {
  const rows = await client.query<CapturedChange>(
    // ORDER BY the table's bigint: a bare `seq` would name the text output column (1, 10, 11, 2...)
    `SELECT o.seq::text AS seq, o.id::text AS id, o.op, o.old, o.new, o.at FROM ${n.outbox} AS o ORDER BY o.seq LIMIT $1`,
    [max],
  );
  return rows.rows;
}

/** The changes are in Gust's queue: they leave the outbox (by `seq`, never a range). */
export async function deleteChanges(
  client: pg.Client,
  n: CaptureNames,
  seqs: readonly string[],
): Promise<void> {
  await client.query(`DELETE FROM ${n.outbox} WHERE seq = ANY($1::bigint[])`, [seqs]);
}

async function transaction(client: pg.Client, work: () => Promise<void>): Promise<void> {
  await client.query('BEGIN');
  try {
    await work();
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}
