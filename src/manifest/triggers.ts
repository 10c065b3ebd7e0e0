/**
 * manifest/triggers: the rules of `triggers:` items, one schema per kind. An item is a map with one
 * key, the kind (`- http: {...}`); the kinds that come with later issues are refused by name.
 *
 * | kind     | keys                                                                   |
 * |----------|------------------------------------------------------------------------|
 * | http     | path (required), methods (default all), auth (public, key)             |
 * | schedule | cron (5 fields, or 6 with seconds first), timezone (UTC), catchUp (1)  |
 * | topic    | name (required), batch (1 to 100, default 1)                           |
 * | webhook  | path (required), verify (github, stripe, hmac-sha256), secret (a name) |
 * | kv       | namespace (required), on (put, delete; default both)                   |
 * | bucket   | name (required), on (created, deleted; default both), prefix, suffix   |
 * | postgres | connection (a secret name), table ([schema.]table), on (insert, update, delete; default all) |
 * | stream   | from, connection, subject or queue, stream, batch, window: stream-trigger.ts |
 */
import { z } from 'zod';
import { scheduleCron } from '../triggers/schedule/ticks.js';
import { choice, list, type Refused, strictMap, unique, whole, withDefault } from './fields.js';
import { absent, got, isMap, showKey, suggest } from './issues.js';
import { parseRoutePath } from './route.js';
import { streamSchema } from './stream-trigger.js';
import type {
  BucketTrigger,
  HttpMethod,
  HttpTrigger,
  KvTrigger,
  PostgresChange,
  PostgresTrigger,
  ScheduleTrigger,
  TopicTrigger,
  Trigger,
  WebhookTrigger,
} from './types.js';

export const HTTP_METHODS = 'GET HEAD POST PUT PATCH DELETE OPTIONS'.split(' ') as readonly HttpMethod[];
/** Kinds the product names that this version does not serve yet (refused by name). */
const LATER_TRIGGER_KINDS: readonly string[] = [];
export const TRIGGER_KINDS = [
  'http',
  'schedule',
  'topic',
  'webhook',
  'kv',
  'bucket',
  'postgres',
  'stream',
  ...LATER_TRIGGER_KINDS,
];
/** First path segments the platform serves itself (control API, Lambda Invoke API). */
export const RESERVED_PATH_PREFIXES = ['_gust', '2015-03-31'];
/** Names of topics (and later buckets and KV namespaces): shared across projects. */
export const RESOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const NOT_YET = 'not supported yet by this version of Gust';

const EVERY_METHOD = 'leave methods out to accept every method';

const methodSchema = z
  .string({
    error: ({ input }) => `must be one of ${HTTP_METHODS.join(', ')} ${got(input)}; ${EVERY_METHOD}`,
  })
  .refine((text) => (HTTP_METHODS as readonly string[]).includes(text.toUpperCase()))
  .transform((text) => text.toUpperCase() as HttpMethod);

const ROUTE_EXAMPLE = 'the URL path, like /hello or /items/:id';

/** What is wrong with a route path, or undefined. */
function routeProblem(path: string): string | undefined {
  const parsed = parseRoutePath(path);
  if (!parsed.ok) return parsed.error;
  const first = parsed.segments[0];
  if (first?.kind !== 'literal' || !RESERVED_PATH_PREFIXES.includes(first.text)) return undefined;
  const reserved = RESERVED_PATH_PREFIXES.map((p) => `/${p}/`).join(' and ');
  return `is reserved: Gust serves ${reserved} itself; choose another path`;
}

const routePathSchema = z
  .string({
    error: ({ input }) =>
      absent(input) ? `required: ${ROUTE_EXAMPLE}` : `must be a string, ${ROUTE_EXAMPLE} ${got(input)}`,
  })
  .superRefine((path, ctx) => {
    const problem = routeProblem(path);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

const httpSchema = strictMap(
  {
    path: routePathSchema,
    methods: list(methodSchema, `like [GET, POST]; ${EVERY_METHOD}`).transform(unique),
    auth: choice(['public', 'key']),
  },
  ({ input }) => `must be a map like { path: /hello, methods: [GET] } ${got(input)}`,
).transform((http): HttpTrigger => ({ type: 'http', ...http }));

/** A name that must be given, in the shape `rule` describes. */
function requiredName(rule: RegExp, what: string, example: string) {
  return z
    .string({
      error: ({ input }) =>
        absent(input)
          ? `required: ${what}, like ${example}`
          : `must be ${what}, like ${example} ${got(input)}`,
    })
    .regex(rule, { error: ({ input }) => `must be ${what}, like ${example} ${got(input)}` });
}

export const topicName = requiredName(RESOURCE_NAME, 'a topic name (letters, digits, . _ -)', 'orders');
export const namespaceName = requiredName(
  RESOURCE_NAME,
  'a KV namespace name (letters, digits, . _ -)',
  'sessions',
);
/**
 * S3's bucket naming rules: 3 to 63 lower-case letters, digits, . and -, starting and ending with a
 * letter or digit, no `..`, not an IP address, none of the prefixes and suffixes S3 reserves.
 */
export const BUCKET_NAME =
  /^(?!\d+\.\d+\.\d+\.\d+$)(?!.*\.\.)(?!xn--|sthree-|amzn-s3-demo-)(?!.*(?:-s3alias|--ol-s3|\.mrap|--x-s3)$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
export const bucketName = requiredName(
  BUCKET_NAME,
  'a bucket name (3 to 63 lower-case letters, digits, . and -)',
  'uploads',
);
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
export const secretName = requiredName(SECRET_NAME, 'a secret name (letters, digits and _)', 'GITHUB_SECRET');

/** Why a cron text is not one Gust runs, or undefined. */
export function cronProblem(cron: string, timezone: string): string | undefined {
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    return `must have 5 fields (minute hour day month weekday), or 6 with seconds first (got ${fields})`;
  }
  try {
    // the very job the scheduler runs, so that what passes here also fires there
    const next = scheduleCron(cron, timezone).nextRun();
    return next === null ? 'never fires: no date matches it' : undefined;
  } catch (e) {
    return `is not a cron expression: ${(e as Error).message.replace(/^CronPattern: /, '')}`;
  }
}

function timezoneProblem(timezone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
    return undefined;
  } catch {
    return `is not a time zone: use an IANA name like Europe/Paris or UTC`;
  }
}

const scheduleSchema = strictMap(
  {
    cron: z.string({
      error: ({ input }) =>
        absent(input) ? 'required: like "0 3 * * *" (every day at 03:00)' : `must be a string ${got(input)}`,
    }),
    timezone: withDefault(
      z.string({ error: ({ input }) => `must be a time zone name ${got(input)}` }),
      'UTC',
    ),
    catchUp: withDefault(whole({ min: 0, max: 100, default: 1 }, 'a whole number of ticks'), 1),
  },
  ({ input }) => `must be a map like { cron: "0 3 * * *", timezone: Europe/Paris } ${got(input)}`,
)
  .superRefine(({ cron, timezone }, ctx) => {
    const zone = timezoneProblem(timezone);
    if (zone) ctx.addIssue({ code: 'custom', path: ['timezone'], message: zone });
    const problem = zone ? undefined : cronProblem(cron, timezone);
    if (problem) ctx.addIssue({ code: 'custom', path: ['cron'], message: problem });
  })
  .transform(
    (s): ScheduleTrigger => ({
      type: 'schedule',
      cron: s.cron.trim(),
      timezone: s.timezone,
      catchUp: s.catchUp,
    }),
  );

const topicSchema = strictMap(
  {
    name: topicName,
    batch: withDefault(whole({ min: 1, max: 100, default: 1 }, 'a whole number of messages'), 1),
  },
  ({ input }) => `must be a map like { name: orders, batch: 10 } ${got(input)}`,
).transform((t): TopicTrigger => ({ type: 'topic', name: t.name, batch: t.batch }));

const webhookSchema = strictMap(
  {
    path: routePathSchema,
    verify: z.enum(['github', 'stripe', 'hmac-sha256'], {
      error: ({ input }) =>
        absent(input)
          ? 'required: how senders sign, one of github, stripe, hmac-sha256'
          : `must be one of github, stripe, hmac-sha256 ${got(input)}`,
    }),
    secret: secretName,
  },
  ({ input }) =>
    `must be a map like { path: /hooks/github, verify: github, secret: GITHUB_SECRET } ${got(input)}`,
).transform((w): WebhookTrigger => ({ type: 'webhook', ...w }));

const kvSchema = strictMap(
  {
    namespace: namespaceName,
    on: list(
      z.enum(['put', 'delete'], { error: ({ input }) => `must be put or delete ${got(input)}` }),
      'like [put, delete]',
    )
      .transform(unique)
      .transform((on) => (on.length === 0 ? (['put', 'delete'] as const) : on)),
  },
  ({ input }) => `must be a map like { namespace: carts, on: [put, delete] } ${got(input)}`,
).transform((k): KvTrigger => ({ type: 'kv', namespace: k.namespace, on: [...k.on] }));

/** A key filter: S3 keys are at most 1,024 bytes. */
const keyFilter = (what: string) =>
  z
    .string({ error: ({ input }) => `must be a string, ${what} ${got(input)}` })
    .refine((text) => Buffer.byteLength(text) <= 1024, { error: 'must be at most 1024 bytes' })
    .nullish()
    .transform((text) => text ?? '');

const bucketSchema = strictMap(
  {
    name: bucketName,
    on: list(
      z.enum(['created', 'deleted'], { error: ({ input }) => `must be created or deleted ${got(input)}` }),
      'like [created, deleted]',
    )
      .transform(unique)
      .transform((on) => (on.length === 0 ? (['created', 'deleted'] as const) : on)),
    prefix: keyFilter('the start of the keys that run the function, like images/'),
    suffix: keyFilter('the end of the keys that run the function, like .png'),
  },
  ({ input }) =>
    `must be a map like { name: uploads, on: [created], prefix: images/, suffix: .png } ${got(input)}`,
).transform(
  (b): BucketTrigger => ({ type: 'bucket', name: b.name, on: [...b.on], prefix: b.prefix, suffix: b.suffix }),
);

/**
 * A table as PostgreSQL names it unquoted: `orders` or `shop.orders`. Quoted names (mixed case,
 * spaces) are refused rather than guessed at: the name is matched as written, lower case.
 */
const PG_IDENTIFIER = '[a-z_][a-z0-9_$]{0,62}';
const PG_TABLE = new RegExp(`^(?:(${PG_IDENTIFIER})\\.)?(${PG_IDENTIFIER})$`);
const TABLE_RULE = 'a table name, optionally schema-qualified (lower case, unquoted)';
const POSTGRES_CHANGES: readonly PostgresChange[] = ['insert', 'update', 'delete'];

const postgresSchema = strictMap(
  {
    connection: requiredName(SECRET_NAME, 'the name of a secret holding the connection string', 'SHOP_DB'),
    table: requiredName(PG_TABLE, TABLE_RULE, 'orders or shop.orders').refine(
      (t) => !t.startsWith('gust_capture.'),
      "gust_capture is the schema of Gust's own change tables: name a table of yours",
    ),
    on: list(
      z.enum(['insert', 'update', 'delete'], {
        error: ({ input }) => `must be insert, update or delete ${got(input)}`,
      }),
      'like [insert, update, delete]',
    )
      .transform(unique)
      .transform((on) => (on.length === 0 ? POSTGRES_CHANGES : on)),
  },
  ({ input }) => `must be a map like { connection: SHOP_DB, table: orders, on: [insert] } ${got(input)}`,
).transform((p): PostgresTrigger => {
  const [, schema, table] = PG_TABLE.exec(p.table)!;
  return {
    type: 'postgres',
    connection: p.connection,
    schema: schema ?? 'public',
    table: table!,
    on: [...p.on],
  };
});

const TRIGGER_EXAMPLE = '- http: { path: /hello }';

function triggerKeys(item: unknown): string {
  const keys = isMap(item) ? Object.keys(item) : [];
  return keys.length === 0 ? 'none' : keys.map(showKey).join(', ');
}

function unknownKind(kind: string): string {
  const guess = suggest(kind, TRIGGER_KINDS);
  const didYouMean = guess ? ` (did you mean ${guess}?)` : '';
  return `unknown trigger kind${didYouMean}; the kinds are ${TRIGGER_KINDS.join(', ')}`;
}

function notATrigger({ input }: Refused): string {
  return `must be a map with one key, the trigger kind, like ${TRIGGER_EXAMPLE} ${got(input)}`;
}

/**
 * `- http: {...}`: a map with exactly one key, the kind. The key count is checked first, as a
 * wrong count is most often wrong indentation, which also makes every other error misleading.
 */
export const triggerSchema = z
  .custom<Record<string, unknown>>(isMap, { error: notATrigger, abort: true })
  .refine((item) => Object.keys(item).length === 1, {
    error: ({ input }) =>
      `must have exactly one key, the trigger kind (got ${triggerKeys(input)}); check the indentation: ${TRIGGER_EXAMPLE}`,
  })
  .pipe(
    strictMap(
      {
        // exactOptional: a kind that is there must be valid even when its value is undefined
        http: httpSchema.exactOptional(),
        schedule: scheduleSchema.exactOptional(),
        topic: topicSchema.exactOptional(),
        webhook: webhookSchema.exactOptional(),
        kv: kvSchema.exactOptional(),
        bucket: bucketSchema.exactOptional(),
        postgres: postgresSchema.exactOptional(),
        stream: streamSchema.exactOptional(),
        ...Object.fromEntries(
          LATER_TRIGGER_KINDS.map((kind) => [
            kind,
            z.never({ error: `${kind} triggers are ${NOT_YET}` }).exactOptional(),
          ]),
        ),
      },
      notATrigger,
      unknownKind,
    ),
  )
  // One key, and every later kind refused: the one that passed is the trigger.
  .transform(
    (item): Trigger =>
      (item.http ??
        item.schedule ??
        item.topic ??
        item.webhook ??
        item.kv ??
        item.bucket ??
        item.postgres ??
        item.stream)!,
  );

export const triggersSchema = list(triggerSchema, 'like [{ http: { path: /hello } }]');
