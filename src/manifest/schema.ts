/**
 * manifest/schema: the rules of gust.yaml as a zod schema, from a parsed document to the
 * normalized `Manifest`. Every error is reported, each with a message that says how to fix the
 * value; `issues.ts` turns zod's issues into lines prefixed by their key path.
 * A key left empty (`memory:`, i.e. null) counts as absent and takes the default.
 *
 * | key                     | accepted                                                       | default       |
 * |-------------------------|----------------------------------------------------------------|---------------|
 * | project                 | name `[a-z][a-z0-9-]{0,62}`: owner of the functions            | folder name   |
 * | functions               | map of name to function; name `[a-z][a-z0-9-]{0,62}`           | required      |
 * | kv, topics              | lists of names the project declares (shared across projects)   | `[]`          |
 * | buckets                 | bucket names (S3's rule), created if missing, shared           | `[]`          |
 * | handler                 | `PATH[#EXPORT]`: PATH relative, no `..`, .ts .mts .js .mjs     | required      |
 * | runtime                 | `node` (`isolate` is not supported yet)                        | `node`        |
 * | memory                  | whole MB, 64 to 10240                                          | `128`         |
 * | timeout                 | duration, 100ms to 15m                                         | `30s`         |
 * | concurrency             | whole number, 1 to 1000                                        | `1`           |
 * | scale.min               | whole number, 0 to scale.max                                   | `0`           |
 * | scale.max               | whole number, 1 to 1000                                        | `10`          |
 * | scale.idle              | duration, 100ms to 24h (1d)                                    | `60s`         |
 * | env                     | `NAME: value`; NAME `[A-Za-z_][A-Za-z0-9_]*`, not NODE_OPTIONS | `{}`          |
 * |                         | nor GUST_*; value a string, or a number/boolean made a string  |               |
 * | permissions             | `bucket:NAME:read`, `bucket:NAME:write`, `kv:NS:read`,         | `[]`          |
 * |                         | `kv:NS:write`, `topic:NAME:publish`, `function:NAME:invoke`    |               |
 * | events                  | `cloudevents` or `aws`                                         | `cloudevents` |
 * | secrets                 | names of secrets (`gust secrets set`) the function gets in env | `[]`          |
 * | input                   | a JSON Schema (draft 2020-12) the event's data must match      | none          |
 * | retries                 | `{max, backoff, deadLetter}` for queued events                 | 2, 1s, none   |
 * | budget.gbSeconds        | a number over 0: the GB-s of invocations a calendar month      | none          |
 * |                         | (UTC) may use; past it, calls are rejected (observe/budgets)   |               |
 * | triggers                | list of one-key maps: http, schedule, topic, webhook, kv       | `[]`          |
 * | http.path               | `/` then literal, `:param` or a final `*` segments;            | required      |
 * |                         | not under `/_gust/` nor `/2015-03-31/`                         |               |
 * | http.methods            | GET HEAD POST PUT PATCH DELETE OPTIONS, any case               | `[]`: all     |
 * | http.auth               | `public` or `key`                                              | `public`      |
 */

import { z } from 'zod';
import { claimsOfDocument, type RouteClaim } from './claims.js';
import {
  choice,
  duration,
  list,
  namedMap,
  type Range,
  type Refused,
  strictMap,
  unique,
  unknownKey,
  whole,
  withDefault,
} from './fields.js';
import { compileInput } from './input.js';
import { absent, describe, formatIssues, got, isMap } from './issues.js';
import {
  bucketName,
  NOT_YET,
  namespaceName,
  RESOURCE_NAME,
  secretName,
  topicName,
  triggersSchema,
} from './triggers.js';
import type { FunctionSpec, Manifest } from './types.js';

export const LIMITS = {
  memoryMb: { min: 64, max: 10_240, default: 128 },
  timeoutMs: { min: 100, max: 15 * 60_000, default: 30_000 },
  concurrency: { min: 1, max: 1000, default: 1 },
  // scale.min is also bounded by scale.max, checked apart
  scaleMin: { min: 0, max: 1000, default: 0 },
  scaleMax: { min: 1, max: 1000, default: 10 },
  // capped so an idle timer always fits setTimeout (about 24.8 days) and still means "idle"
  idleMs: { min: 100, max: 24 * 3_600_000, default: 60_000 },
  // as on Lambda: two retries after the first failure
  retries: { min: 0, max: 10, default: 2 },
  backoffMs: { min: 100, max: 3_600_000, default: 1000 },
} as const satisfies Record<string, Range>;

export const FUNCTION_NAME = /^[a-z][a-z0-9-]{0,62}$/;
/** Project names follow the same rule as function names. */
export const PROJECT_NAME = FUNCTION_NAME;
export { claimRoute, type RouteClaim } from './claims.js';
export { HTTP_METHODS, RESERVED_PATH_PREFIXES, TRIGGER_KINDS } from './triggers.js';

const TOP_KEYS = ['project', 'functions', 'buckets', 'kv', 'topics'];
const RESOURCE = RESOURCE_NAME.source.slice(1, -1);
const FUNCTION_REF = FUNCTION_NAME.source.slice(1, -1);
const PERMISSION = new RegExp(
  `^(?:(?:bucket|kv):${RESOURCE}:(?:read|write)|topic:${RESOURCE}:publish|function:${FUNCTION_REF}:invoke)$`,
);
const PERMISSION_FORMS = 'bucket:NAME:read|write, kv:NS:read|write, topic:NAME:publish, function:NAME:invoke';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const NOT_RELATIVE = /^\/|^[A-Za-z]:|\\/;
const SOURCE_FILE = /\.(?:ts|mts|js|mjs)$/;
const EXAMPLE = 'functions: { hello: { handler: src/hello.ts } }';

/**
 * Reads a whole document. `manifest` is only meaningful when `errors` is empty; `routes` holds
 * the http triggers that are valid on their own, so conflicts are found alongside other errors.
 */
export function checkManifest(raw: unknown): { manifest: Manifest; errors: string[]; routes: RouteClaim[] } {
  const parsed = manifestSchema.safeParse(raw);
  const routes = claimsOfDocument(raw);
  if (parsed.success) return { manifest: parsed.data, errors: [], routes };
  return {
    manifest: { topics: [], kv: [], buckets: [], functions: [] },
    errors: formatIssues(parsed.error.issues),
    routes,
  };
}

// ---- the rules, leaves first: each schema is a const, defined before the one it is part of ----

function handlerError(problem: string) {
  return ({ input }: Refused) => `${problem}, like src/hello.ts or src/hello.ts#handler ${got(input)}`;
}

function splitHandler(text: string): FunctionSpec['handler'] {
  const hash = text.indexOf('#');
  return hash === -1 ? { path: text } : { path: text.slice(0, hash), export: text.slice(hash + 1) };
}

const handlerSchema = z
  .string({
    error: (iss) =>
      absent(iss.input)
        ? 'required: the file to run and optionally its export, like src/hello.ts or src/hello.ts#handler'
        : handlerError('must be a string')(iss),
  })
  .refine((text) => !NOT_RELATIVE.test(splitHandler(text).path), {
    error: handlerError('the file must be a path relative to gust.yaml, with / between folders'),
    abort: true,
  })
  // Bundling reads the file on the deployer's machine: keep it inside the project folder.
  .refine((text) => !splitHandler(text).path.split('/').includes('..'), {
    error: handlerError('the file must be inside the folder of gust.yaml (no ..)'),
    abort: true,
  })
  .refine((text) => SOURCE_FILE.test(splitHandler(text).path), {
    error: handlerError('the file must end with .ts, .mts, .js or .mjs'),
    abort: true,
  })
  .refine((text) => IDENTIFIER.test(splitHandler(text).export ?? 'default'), {
    error: handlerError('the export after # must be a JavaScript identifier'),
  })
  .transform(splitHandler);

const scaleSchema = strictMap(
  {
    min: whole(LIMITS.scaleMin, 'a whole number').nullish(),
    max: whole(LIMITS.scaleMax, 'a whole number').nullish(),
    idle: duration(LIMITS.idleMs),
  },
  ({ input }) => `must be a map like { min: 0, max: 10, idle: 60s } ${got(input)}`,
)
  // Defaults come after this check, so that its message can tell a default max from a written one.
  .superRefine(
    ({ min, max }, ctx) => {
      const limit = max ?? LIMITS.scaleMax.default;
      if ((min ?? LIMITS.scaleMin.default) <= limit) return;
      const which = absent(max) ? `${limit}, the default` : `${limit}`;
      ctx.addIssue({
        code: 'custom',
        path: ['min'],
        message: `must be at most scale.max (${which}); lower min or raise max`,
      });
    },
    // Compare only two values the user got right, or the message would quote a wrong one.
    {
      when: ({ value, issues }) =>
        isMap(value) && !issues.some(({ path }) => ['min', 'max'].includes(String(path?.[0]))),
    },
  )
  .transform(({ min, max, idle }) => ({
    min: min ?? LIMITS.scaleMin.default,
    max: max ?? LIMITS.scaleMax.default,
    idleMs: idle,
  }));

const envName = z
  .string()
  .regex(ENV_NAME, { error: 'names are letters, digits and _, not starting with a digit', abort: true })
  .refine((name) => name !== 'NODE_OPTIONS', {
    error: 'reserved: Gust sets NODE_OPTIONS itself to enforce memory and sandbox limits',
    abort: true,
  })
  .refine((name) => !name.startsWith('GUST_'), {
    error: 'reserved: names starting with GUST_ are set by the platform; choose another name',
  });

// Not z.number(): it refuses NaN and Infinity, which YAML can write (.nan, .inf) and String() can too.
const envValue = z
  .custom<string | number | boolean>((value) => ['string', 'number', 'boolean'].includes(typeof value), {
    error: ({ input }) => `must be a string, a number or true/false ${got(input)}`,
  })
  .transform(String)
  // A process environment cannot hold NUL: the instance would fail to start.
  .refine((value) => !value.includes('\0'), { error: 'must not contain a NUL character' });

const envSchema = namedMap(
  envName,
  envValue,
  ({ input }) => `must be a map of NAME: value, like { SIZE: "512" } ${got(input)}`,
  // fromEntries defines own properties, so a variable named __proto__ stays a variable.
).transform((env) => Object.fromEntries(env));

const permissionSchema = z
  .string({ error: ({ input }) => `must be one of ${PERMISSION_FORMS} ${got(input)}` })
  .regex(PERMISSION);

const secretsSchema = list(secretName, 'like [STRIPE_KEY]').transform(unique);

const inputSchema = z
  .custom<Record<string, unknown>>(isMap, {
    error: ({ input }) => `must be a JSON Schema, a map like { type: object, required: [id] } ${got(input)}`,
  })
  .superRefine((schema, ctx) => {
    const compiled = compileInput(schema);
    if (!compiled.ok) ctx.addIssue({ code: 'custom', message: compiled.error });
  })
  .nullish()
  .transform((schema) => schema ?? null);

const retriesSchema = strictMap(
  {
    max: withDefault(whole(LIMITS.retries, 'a whole number of retries'), LIMITS.retries.default),
    backoff: duration(LIMITS.backoffMs),
    deadLetter: topicName.nullish(),
  },
  ({ input }) => `must be a map like { max: 3, backoff: 2s, deadLetter: failed } ${got(input)}`,
).transform((r) => ({ max: r.max, backoffMs: r.backoff, deadLetter: r.deadLetter ?? null }));

function budgetError({ input }: Refused): string {
  return absent(input)
    ? 'required: the GB-seconds a calendar month may use, like { gbSeconds: 1000 }'
    : `must be a number of GB-seconds over 0, like 1000 ${got(input)}`;
}

// z.number refuses NaN and Infinity (YAML's .nan, .inf): neither is a cap.
const budgetSchema = strictMap(
  { gbSeconds: z.number({ error: budgetError }).gt(0, { error: budgetError }) },
  ({ input }) =>
    `must be a map like { gbSeconds: ${typeof input === 'number' ? input : 1000} } ${got(input)}`,
).nullish();

function functionError({ input, path }: Refused): string {
  const name = String(path?.at(-1));
  const hint =
    typeof input === 'string'
      ? `{ handler: ${describe(input)} }`
      : `{ handler: src/${FUNCTION_NAME.test(name) ? name : 'hello'}.ts }`;
  return `must be a map of settings with at least a handler, like ${hint} ${got(input)}`;
}

const functionSchema = strictMap(
  {
    handler: handlerSchema,
    runtime: choice(['node'], { isolate: `isolate is ${NOT_YET}; use node` }),
    memory: withDefault(whole(LIMITS.memoryMb, 'a whole number of MB'), LIMITS.memoryMb.default),
    timeout: duration(LIMITS.timeoutMs),
    concurrency: withDefault(whole(LIMITS.concurrency, 'a whole number'), LIMITS.concurrency.default),
    // an empty scale map reads as every default
    scale: withDefault(scaleSchema, scaleSchema.parse({})),
    env: withDefault(envSchema, {}),
    secrets: secretsSchema,
    permissions: list(permissionSchema, 'like [topic:orders:publish]').transform(unique),
    events: choice(['cloudevents', 'aws']),
    egress: choice(['open', 'none']),
    input: inputSchema,
    // an empty retries map reads as every default
    retries: withDefault(retriesSchema, retriesSchema.parse({})),
    budget: budgetSchema,
    triggers: triggersSchema,
  },
  functionError,
).superRefine(({ env, secrets, retries, triggers }, ctx) => {
  // Its own failures would come back to it, fail again and go round for ever.
  // (Parts that failed their own rules may be missing here: their errors are already said.)
  const deadLetter = retries?.deadLetter;
  const own = Array.isArray(triggers)
    ? triggers.findIndex((t) => t?.type === 'topic' && t.name === deadLetter)
    : -1;
  if (deadLetter && own >= 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['retries', 'deadLetter'],
      message: `${deadLetter} is a topic this function subscribes to (triggers[${own}]): its dead letters would come back to it for ever; name another topic`,
    });
  }
  // One variable, two values: which would win is a surprise either way.
  secrets.forEach((name, i) => {
    if (Object.hasOwn(env, name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['secrets', i],
        message: `${name} is also in env: a secret and a variable cannot share a name; rename one`,
      });
    }
  });
});

const functionsSchema = namedMap(
  z.string().regex(FUNCTION_NAME, {
    error: 'function names are lower-case letters, digits and -, start with a letter, 63 at most',
  }),
  functionSchema,
  ({ input }) =>
    absent(input)
      ? `required: a map of function name to settings, like ${EXAMPLE}`
      : `must be a map of function name to settings, like ${EXAMPLE} ${got(input)}`,
)
  .refine((functions) => functions.size > 0, { error: `must declare at least one function, like ${EXAMPLE}` })
  // Key by key, in the order of FunctionSpec: a version's hash is over JSON.stringify(spec), so a
  // new order would make every unchanged function a new version on its next deploy.
  .transform((functions) =>
    [...functions].map(
      ([name, f]): FunctionSpec => ({
        name,
        handler: f.handler,
        runtime: f.runtime,
        memoryMb: f.memory,
        timeoutMs: f.timeout,
        concurrency: f.concurrency,
        scale: f.scale,
        env: f.env,
        secrets: f.secrets,
        permissions: f.permissions,
        events: f.events,
        input: f.input,
        retries: f.retries,
        triggers: f.triggers,
        // Only when not the default: a key added to every spec would make every function a new version.
        ...(f.egress === 'none' ? { egress: f.egress } : {}),
        ...(f.budget ? { budget: { gbSeconds: f.budget.gbSeconds } } : {}),
      }),
    ),
  );

const topicsSchema = list(topicName, 'like [orders, done]').transform(unique);

const projectSchema = z
  .string({
    error: ({ input }) =>
      `must be a project name, like shop ${got(input)}; leave it out to use the folder name`,
  })
  .regex(PROJECT_NAME, {
    error: ({ input }) =>
      `project names are lower-case letters, digits and -, start with a letter, 63 at most ${got(input)}`,
  })
  .nullish();

const manifestSchema = strictMap(
  // resources first: what this version cannot run matters more than the errors of the rest
  {
    project: projectSchema,
    buckets: list(bucketName, 'like [uploads, thumbs]').transform(unique),
    kv: list(namespaceName, 'like [sessions, carts]').transform(unique),
    topics: topicsSchema,
    functions: functionsSchema,
  },
  ({ input }) =>
    absent(input)
      ? `the manifest is empty; start with ${EXAMPLE}`
      : `the manifest must be a map with a functions key ${got(input)}`,
  (key) => unknownKey(key, TOP_KEYS),
).transform(
  ({ project, topics, kv, buckets, functions }): Manifest =>
    project ? { project, topics, kv, buckets, functions } : { topics, kv, buckets, functions },
);

/**
 * The project of a folder that names none in gust.yaml: the folder's name, made a valid project
 * name (`My Shop` -> `my-shop`), or `default` when nothing of it is usable.
 */
export function projectFromFolder(folderName: string): string {
  const name = folderName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return PROJECT_NAME.test(name) ? name : 'default';
}
