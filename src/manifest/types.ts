/** manifest/types: the normalized shape of gust.yaml once validated, every default applied. */

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

export interface HttpTrigger {
  readonly type: 'http';
  /** `/items/:id`, `/files/*` (a trailing `*` catches the rest); always starts with `/`. */
  readonly path: string;
  /** Empty means every method. */
  readonly methods: readonly HttpMethod[];
  readonly auth: 'public' | 'key';
}

export interface ScheduleTrigger {
  readonly type: 'schedule';
  /** 5 fields, or 6 with seconds first. */
  readonly cron: string;
  /** An IANA time zone; `UTC` by default. */
  readonly timezone: string;
  /** How many of the newest ticks missed while Gust was down run at start, once each (0: none). */
  readonly catchUp: number;
}

export interface TopicTrigger {
  readonly type: 'topic';
  readonly name: string;
  /** Messages per invocation at most. */
  readonly batch: number;
}

export type WebhookVerifier = 'github' | 'stripe' | 'hmac-sha256';

export interface WebhookTrigger {
  readonly type: 'webhook';
  /** A route path, served for POST only. */
  readonly path: string;
  readonly verify: WebhookVerifier;
  /** The name of the secret the sender signs with. */
  readonly secret: string;
}

export interface KvTrigger {
  readonly type: 'kv';
  readonly namespace: string;
  /** Which changes run the function. */
  readonly on: readonly ('put' | 'delete')[];
}

export interface BucketTrigger {
  readonly type: 'bucket';
  readonly name: string;
  /** Which changes run the function. */
  readonly on: readonly ('created' | 'deleted')[];
  /** Only keys that start with this ('' for every key). */
  readonly prefix: string;
  /** Only keys that end with this ('' for every key). */
  readonly suffix: string;
}

/** Messages from the user's broker (triggers/stream). */
export interface StreamTrigger {
  readonly type: 'stream';
  readonly from: 'mqtt' | 'nats' | 'amqp';
  /** The name of the secret whose value is the broker URL (credentials included). */
  readonly connection: string;
  /** mqtt: a topic filter; nats: a subject; amqp: the queue's name. */
  readonly subject: string;
  /** nats only: the JetStream stream consumed by a durable consumer; absent: core NATS. */
  readonly stream?: string;
  /** Messages per invocation at most. */
  readonly batch: number;
  /** The longest a batch waits for more messages once its first has come. */
  readonly windowMs: number;
}

export type PostgresChange = 'insert' | 'update' | 'delete';

export interface PostgresTrigger {
  readonly type: 'postgres';
  /** The name of the secret that holds the connection string (postgres://user:pass@host/db). */
  readonly connection: string;
  /** The table's schema (`public` unless the manifest says `schema.table`). */
  readonly schema: string;
  readonly table: string;
  /** Which changes run the function. */
  readonly on: readonly PostgresChange[];
}

export type Trigger =
  | StreamTrigger
  | HttpTrigger
  | ScheduleTrigger
  | TopicTrigger
  | WebhookTrigger
  | KvTrigger
  | BucketTrigger
  | PostgresTrigger;

export interface Retries {
  /** Retries after the first failed attempt (so max + 1 attempts in all). */
  readonly max: number;
  /** The first retry's delay; each next one doubles it (with jitter). */
  readonly backoffMs: number;
  /** The topic that gets what still fails, or null: then it is dropped, with its record. */
  readonly deadLetter: string | null;
}

export interface FunctionSpec {
  readonly name: string;
  /** Path relative to the manifest's folder, and the export to call (undefined: `default`, else `handler`). */
  readonly handler: { readonly path: string; readonly export?: string };
  readonly runtime: 'node';
  readonly memoryMb: number;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly scale: { readonly min: number; readonly max: number; readonly idleMs: number };
  readonly env: Readonly<Record<string, string>>;
  /** Names of platform secrets, given to the function as environment variables. */
  readonly secrets: readonly string[];
  readonly permissions: readonly string[];
  readonly events: 'cloudevents' | 'aws';
  /** A JSON Schema (draft 2020-12) every event must match, or null. */
  readonly input: Readonly<Record<string, unknown>> | null;
  readonly retries: Retries;
  readonly triggers: readonly Trigger[];
  /** `none`: no network access at all (a network namespace without interfaces). Absent: open. */
  readonly egress?: 'none';
  /** A cap on the GB-s of its invocations per calendar month (UTC). Absent: none. */
  readonly budget?: Budget;
}

export interface Budget {
  /** Past this many GB-s of invocations this month, calls are rejected (observe/budgets.ts). */
  readonly gbSeconds: number;
}

export interface Manifest {
  /** The owner of the functions, when gust.yaml names it; else the deploying folder's name. */
  readonly project?: string;
  /** Topics this project declares (shared by name with every project). */
  readonly topics: readonly string[];
  /** KV namespaces this project declares (shared by name, like topics). */
  readonly kv: readonly string[];
  /** Buckets this project declares (created if missing; shared by name, like topics). */
  readonly buckets: readonly string[];
  readonly functions: readonly FunctionSpec[];
}
