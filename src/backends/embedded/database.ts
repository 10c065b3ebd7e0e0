/**
 * embedded/database: the SQLite file of a single-machine Gust, and its schema. The schema grows by
 * numbered migrations (`PRAGMA user_version` says how many ran), so a data folder made by an
 * earlier Gust opens in a later one with everything it held.
 */
import Database from 'better-sqlite3';

export type Db = Database.Database;

/** Each entry runs once, in order, in one transaction with the version bump. Never edit one: add. */
const MIGRATIONS: readonly string[] = [
  // 1: the core (IF NOT EXISTS: data folders made before migrations were numbered have these)
  `
CREATE TABLE IF NOT EXISTS functions (
  name TEXT PRIMARY KEY,
  active_version INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
  function TEXT NOT NULL,
  version INTEGER NOT NULL,
  hash TEXT NOT NULL,
  bundle_hash TEXT NOT NULL,
  spec TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (function, version)
);
CREATE TABLE IF NOT EXISTS keys (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL,
  scope TEXT NOT NULL,
  function TEXT,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS invocations (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  function TEXT NOT NULL,
  version INTEGER NOT NULL,
  trigger TEXT NOT NULL,
  instance TEXT,
  start TEXT NOT NULL,
  duration_ms REAL NOT NULL,
  billed_ms INTEGER NOT NULL,
  memory_mb INTEGER NOT NULL,
  gb_seconds REAL NOT NULL,
  cold INTEGER NOT NULL,
  init_ms REAL NOT NULL,
  status TEXT NOT NULL,
  error TEXT,
  logs TEXT NOT NULL,
  trace_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS invocations_by_function ON invocations (function, seq);
`,
  // 2: projects own functions (NULL: deployed before projects existed); version numbers are never
  // reused, even after a function is removed; records say how long a call waited, and the stack
  `
ALTER TABLE functions ADD COLUMN project TEXT;
CREATE TABLE function_names (
  name TEXT PRIMARY KEY,
  last_version INTEGER NOT NULL
);
INSERT INTO function_names (name, last_version) SELECT function, MAX(version) FROM versions GROUP BY function;
ALTER TABLE invocations ADD COLUMN queued_ms REAL NOT NULL DEFAULT 0;
ALTER TABLE invocations ADD COLUMN stack TEXT;
`,
  // 3: durable queues (embedded/queue.ts); ready_at orders claims and finds the next wake-up
  `
CREATE TABLE queue (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  queue TEXT NOT NULL,
  body TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  enqueued_at INTEGER NOT NULL,
  ready_at INTEGER NOT NULL,
  leased INTEGER NOT NULL DEFAULT 0,
  UNIQUE (queue, id)
);
CREATE INDEX queue_ready ON queue (queue, ready_at, seq);
`,
  // 4: secrets, sealed by services/secrets.ts
  `
CREATE TABLE secrets (
  name TEXT PRIMARY KEY,
  sealed BLOB NOT NULL,
  updated_at TEXT NOT NULL
);
`,
  // 5: an event's retries keep its invocation id, so a record is one (id, attempt); SQLite cannot
  // drop a UNIQUE constraint, so the table is rebuilt (rows keep their seq, hence their order)
  `
CREATE TABLE invocations_v5 (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 1,
  function TEXT NOT NULL,
  version INTEGER NOT NULL,
  trigger TEXT NOT NULL,
  instance TEXT,
  start TEXT NOT NULL,
  queued_ms REAL NOT NULL DEFAULT 0,
  duration_ms REAL NOT NULL,
  billed_ms INTEGER NOT NULL,
  memory_mb INTEGER NOT NULL,
  gb_seconds REAL NOT NULL,
  cold INTEGER NOT NULL,
  init_ms REAL NOT NULL,
  status TEXT NOT NULL,
  error TEXT,
  stack TEXT,
  logs TEXT NOT NULL,
  trace_id TEXT NOT NULL,
  UNIQUE (id, attempt)
);
INSERT INTO invocations_v5 (seq, id, function, version, trigger, instance, start, queued_ms, duration_ms,
  billed_ms, memory_mb, gb_seconds, cold, init_ms, status, error, stack, logs, trace_id)
  SELECT seq, id, function, version, trigger, instance, start, queued_ms, duration_ms, billed_ms, memory_mb,
  gb_seconds, cold, init_ms, status, error, stack, logs, trace_id FROM invocations;
DROP TABLE invocations;
ALTER TABLE invocations_v5 RENAME TO invocations;
CREATE INDEX invocations_by_function ON invocations (function, seq);
`,
  // 6: topics, declared by projects (shared by name: a topic exists while a project declares it)
  `
CREATE TABLE topics (
  project TEXT NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY (project, name)
);
`,
  // 7: the last tick each schedule fired (triggers/schedule/scheduler.ts)
  `
CREATE TABLE schedule_state (
  function TEXT NOT NULL,
  schedule TEXT NOT NULL,
  last_tick INTEGER NOT NULL,
  PRIMARY KEY (function, schedule)
);
`,
  // 8: KV namespaces (declared by projects, like topics) and their keys (embedded/kv.ts)
  `
CREATE TABLE kv_namespaces (
  project TEXT NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY (project, name)
);
CREATE TABLE kv (
  namespace TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  expires_at INTEGER,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
CREATE INDEX kv_expiry ON kv (expires_at) WHERE expires_at IS NOT NULL;
`,
  // 9: binding calls its permissions refused, counted in the record
  `
ALTER TABLE invocations ADD COLUMN denied_calls INTEGER NOT NULL DEFAULT 0;
`,
  // 10: the webhook delivery ids each function has taken (triggers/webhook/accept.ts), so that a
  // delivery sent again is not processed twice; kept 7 days, and a bounded number per function
  `
CREATE TABLE webhook_deliveries (
  function TEXT NOT NULL,
  delivery_id TEXT NOT NULL,
  invocation_id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  queued INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (function, delivery_id)
);
CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries (function, received_at);
`,
  // 11: a key's request rate limit (requests a second; NULL: none)
  `
ALTER TABLE keys ADD COLUMN rate REAL;
`,
  // 12: a key's burst: the N of the N/unit it was given, requests at once (NULL: one second's worth)
  `
ALTER TABLE keys ADD COLUMN burst INTEGER;
`,
  // 13: usage rolled up per function and minute, written with the records (so it stays exact once
  // records are pruned); warm_gb_seconds: instances kept warm by scale.min, metered apart
  `
CREATE TABLE usage_minutes (
  function TEXT NOT NULL,
  minute INTEGER NOT NULL,
  requests INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  cold_starts INTEGER NOT NULL DEFAULT 0,
  billed_ms INTEGER NOT NULL DEFAULT 0,
  gb_seconds REAL NOT NULL DEFAULT 0,
  warm_gb_seconds REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (function, minute)
) WITHOUT ROWID;
CREATE INDEX usage_by_minute ON usage_minutes (minute);
INSERT INTO usage_minutes (function, minute, requests, failed, cold_starts, billed_ms, gb_seconds)
  SELECT function, CAST(strftime('%s', start) AS INTEGER) / 60, COUNT(*), SUM(status != 'ok'), SUM(cold),
         SUM(billed_ms), SUM(gb_seconds)
  FROM invocations WHERE billed_ms > 0 GROUP BY 1, 2;
`,
  // 14: buckets (declared by projects like topics, or created through the S3 API), the index of
  // their objects (the bytes are files under buckets/objects, named by a random id, never by key)
  // and multipart uploads in progress (embedded/objects.ts)
  `
CREATE TABLE bucket_declarations (
  project TEXT NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY (project, name)
);
CREATE TABLE buckets (
  name TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);
CREATE TABLE objects (
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  file TEXT NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  content_type TEXT NOT NULL,
  metadata TEXT NOT NULL,
  checksum TEXT,
  modified_at INTEGER NOT NULL,
  PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE multipart_uploads (
  id TEXT PRIMARY KEY,
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  content_type TEXT NOT NULL,
  metadata TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX multipart_uploads_by_bucket ON multipart_uploads (bucket);
CREATE TABLE multipart_parts (
  upload_id TEXT NOT NULL,
  part INTEGER NOT NULL,
  file TEXT NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  modified_at INTEGER NOT NULL,
  PRIMARY KEY (upload_id, part)
) WITHOUT ROWID;
`,
  // 15: the HTTP headers an object keeps (Cache-Control, Content-Disposition...), as JSON
  `
ALTER TABLE objects ADD COLUMN headers TEXT NOT NULL DEFAULT '{}';
ALTER TABLE multipart_uploads ADD COLUMN headers TEXT NOT NULL DEFAULT '{}';
`,
  // 16: captures of postgres triggers in users' databases that a removal could not reach yet
  // (triggers/postgres/source.ts retries them, also after a restart)
  `
CREATE TABLE capture_teardowns (
  function TEXT NOT NULL,
  connection TEXT NOT NULL,
  table_schema TEXT NOT NULL,
  table_name TEXT NOT NULL,
  since INTEGER NOT NULL,
  PRIMARY KEY (function, connection, table_schema, table_name)
) WITHOUT ROWID;
`,
  // 17: a record's span in its trace and its parent's (observe/traces.ts), for a waterfall of records;
  // NULL in records made before
  `
ALTER TABLE invocations ADD COLUMN span_id TEXT;
ALTER TABLE invocations ADD COLUMN parent_span_id TEXT;
`,
  // 18: the records of a trace, for its waterfall (embedded/traces.ts). Only records with a parent are
  // indexed: a call from outside without traceparent, most of the traffic, pays nothing; the root of
  // a trace that started here is found near its children instead.
  `
CREATE INDEX invocations_by_trace ON invocations (trace_id) WHERE parent_span_id IS NOT NULL;
`,
  // 19: what each invocation got (its event, or its HTTP request), kept for gust replay
  // (embedded/inputs.ts; input NULL: over the per-event limit, only its size kept; stored: the bytes
  // of input, read by the size bound without reading the text); and in a record, the invocation a
  // replay ran again
  `
CREATE TABLE invocation_inputs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  function TEXT NOT NULL,
  kind TEXT NOT NULL,
  kept_at INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  stored INTEGER NOT NULL,
  input TEXT
);
ALTER TABLE invocations ADD COLUMN replay_of TEXT;
`,
  // 20: versions removed past --keep-versions, so that asking for one says why it is gone
  `
CREATE TABLE removed_versions (
  function TEXT NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (function, version)
);
`,
  // 21: the inputs kept for replay moved to a file of their own, written by a worker thread
  // (embedded/inputs.ts, observe/input-worker.ts): their rows no longer share gust.db's writer
  `
DROP TABLE invocation_inputs;
`,
];

/** `migrations`: gust.db's unless given (embedded/inputs.ts has a file and a schema of its own). */
export function openDatabase(file: string, migrations: readonly string[] = MIGRATIONS): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  migrate(db, migrations);
  return db;
}

function migrate(db: Db, migrations: readonly string[]): void {
  const done = db.pragma('user_version', { simple: true }) as number;
  if (done > migrations.length) {
    db.close();
    throw new Error(
      `the database ${db.name} was written by a newer Gust (schema ${done}, this one knows ${migrations.length}): upgrade Gust`,
    );
  }
  migrations.slice(done).forEach((sql, i) => {
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${done + i + 1}`);
    })();
  });
}
