/**
 * manifest/schema: the rules of gust.yaml, from a parsed document to the normalized `Manifest`.
 * By hand, not zod: each message must say how to fix the value, and every error be reported.
 * A key left empty (`memory:`, i.e. null) counts as absent and takes the default.
 *
 * | key                     | accepted                                                       | default       |
 * |-------------------------|----------------------------------------------------------------|---------------|
 * | functions               | map of name to function; name `[a-z][a-z0-9-]{0,62}`           | required      |
 * | buckets, kv, topics     | lists of names; refused when not empty (not supported yet)     | `[]`          |
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
 * | secrets, input, retries | refused when not empty (not supported yet)                     | none          |
 * | triggers                | list of one-key maps; only `http` is supported yet             | `[]`          |
 * | http.path               | `/` then literal, `:param` or a final `*` segments;            | required      |
 * |                         | not under `/_gust/` nor `/2015-03-31/`                         |               |
 * | http.methods            | GET HEAD POST PUT PATCH DELETE OPTIONS, any case               | `[]`: all     |
 * | http.auth               | `public` or `key`                                              | `public`      |
 */

import { formatDuration, parseDuration } from './duration.js';
import { parseRoutePath, routeShape } from './route.js';
import type { FunctionSpec, HttpMethod, HttpTrigger, Manifest } from './types.js';

type Range = { readonly min: number; readonly max: number; readonly default: number };

export const LIMITS = {
  memoryMb: { min: 64, max: 10_240, default: 128 },
  timeoutMs: { min: 100, max: 15 * 60_000, default: 30_000 },
  concurrency: { min: 1, max: 1000, default: 1 },
  // scale.min is also bounded by scale.max, checked apart
  scaleMin: { min: 0, max: 1000, default: 0 },
  scaleMax: { min: 1, max: 1000, default: 10 },
  // capped so an idle timer always fits setTimeout (about 24.8 days) and still means "idle"
  idleMs: { min: 100, max: 24 * 3_600_000, default: 60_000 },
} as const satisfies Record<string, Range>;

export const FUNCTION_NAME = /^[a-z][a-z0-9-]{0,62}$/;
export const HTTP_METHODS = 'GET HEAD POST PUT PATCH DELETE OPTIONS'.split(' ') as readonly HttpMethod[];
export const TRIGGER_KINDS = 'http schedule topic bucket webhook kv postgres stream'.split(' ');
/** First path segments the platform serves itself (control API, Lambda Invoke API). */
export const RESERVED_PATH_PREFIXES = ['_gust', '2015-03-31'];

const TOP_KEYS = ['functions', 'buckets', 'kv', 'topics'];
const FUNCTION_KEYS = [
  ...['handler', 'runtime', 'memory', 'timeout', 'concurrency', 'scale', 'env'],
  ...['secrets', 'permissions', 'events', 'input', 'retries', 'triggers'],
];
const RESOURCE = '[A-Za-z0-9][A-Za-z0-9._-]{0,62}';
const FUNCTION_REF = FUNCTION_NAME.source.slice(1, -1);
const PERMISSION = new RegExp(
  `^(?:(?:bucket|kv):${RESOURCE}:(?:read|write)|topic:${RESOURCE}:publish|function:${FUNCTION_REF}:invoke)$`,
);
const PERMISSION_FORMS = 'bucket:NAME:read|write, kv:NS:read|write, topic:NAME:publish, function:NAME:invoke';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const EXAMPLE = 'functions: { hello: { handler: src/hello.ts } }';
const NOT_YET = 'not supported yet by this version of Gust';

/** One http trigger as declared, kept for the check that spans functions (route conflicts). */
export interface RouteClaim {
  /** Names the trigger in errors: its key path `functions.api.triggers[0].http`, or any label. */
  readonly where: string;
  readonly path: string;
  /** Equal for two paths that serve the same URLs: see `routeShape`. */
  readonly shape: string;
  readonly methods: readonly HttpMethod[];
}

/** A value of the document, where it sits, and the lists that checking fills. */
interface Field {
  readonly value: unknown;
  readonly path: string;
  readonly errors: string[];
  readonly routes: RouteClaim[];
}

/**
 * Reads a whole document. `manifest` is only meaningful when `errors` is empty: readers report
 * and carry on with a stand-in value, so one pass finds every error.
 */
export function checkManifest(raw: unknown): { manifest: Manifest; errors: string[]; routes: RouteClaim[] } {
  const root: Field = { value: raw, path: '', errors: [], routes: [] };
  const manifest = { functions: readDocument(root) };
  return { manifest, errors: root.errors, routes: root.routes };
}

function readDocument(f: Field): FunctionSpec[] {
  if (absent(f.value)) return fail(f, `the manifest is empty; start with ${EXAMPLE}`, []);
  if (!isMap(f.value)) return fail(f, `the manifest must be a map with a functions key ${got(f.value)}`, []);
  checkKeys(f, TOP_KEYS);
  refuseResources(entry(f, 'buckets'), 'storage');
  refuseResources(entry(f, 'kv'), 'storage');
  refuseResources(entry(f, 'topics'), 'topics');
  return readFunctions(entry(f, 'functions'));
}

function refuseResources(f: Field, comingWith: string): void {
  if (absent(f.value)) return;
  if (!Array.isArray(f.value)) report(f, `must be a list of names, like [uploads] ${got(f.value)}`);
  else if (f.value.length > 0) report(f, `${NOT_YET} (coming with ${comingWith})`);
}

function readFunctions(f: Field): FunctionSpec[] {
  if (absent(f.value)) return fail(f, `required: a map of function name to settings, like ${EXAMPLE}`, []);
  if (!isMap(f.value))
    return fail(f, `must be a map of function name to settings, like ${EXAMPLE} ${got(f.value)}`, []);
  const names = Object.keys(f.value);
  if (names.length === 0) return fail(f, `must declare at least one function, like ${EXAMPLE}`, []);
  return names.flatMap((name) => readFunction(name, entry(f, name)) ?? []);
}

function readFunction(name: string, f: Field): FunctionSpec | undefined {
  if (!FUNCTION_NAME.test(name)) {
    report(f, 'function names are lower-case letters, digits and -, start with a letter, 63 at most');
  }
  if (!isMap(f.value)) {
    const hint =
      typeof f.value === 'string'
        ? `{ handler: ${describe(f.value)} }`
        : `{ handler: src/${FUNCTION_NAME.test(name) ? name : 'hello'}.ts }`;
    return fail(f, `must be a map of settings with at least a handler, like ${hint} ${got(f.value)}`);
  }
  checkKeys(f, FUNCTION_KEYS);
  const setting = (key: string) => entry(f, key);
  for (const key of ['secrets', 'input', 'retries']) refuseIfSet(setting(key));
  return {
    name,
    handler: readHandler(setting('handler')),
    runtime: readChoice(setting('runtime'), ['node'], { isolate: `isolate is ${NOT_YET}; use node` }),
    memoryMb: readWhole(setting('memory'), LIMITS.memoryMb, 'a whole number of MB'),
    timeoutMs: readDuration(setting('timeout'), LIMITS.timeoutMs),
    concurrency: readWhole(setting('concurrency'), LIMITS.concurrency, 'a whole number'),
    scale: readScale(setting('scale')),
    env: readEnv(setting('env')),
    permissions: readPermissions(setting('permissions')),
    events: readChoice(setting('events'), ['cloudevents', 'aws'], {}),
    triggers: readTriggers(setting('triggers')),
  };
}

function refuseIfSet(f: Field): void {
  const v = f.value;
  const empty =
    absent(v) || (Array.isArray(v) && v.length === 0) || (isMap(v) && Object.keys(v).length === 0);
  if (!empty) report(f, `${NOT_YET}; remove it`);
}

function readHandler(f: Field): FunctionSpec['handler'] {
  const standIn = { path: '' };
  const example = 'like src/hello.ts or src/hello.ts#handler';
  if (absent(f.value))
    return fail(f, `required: the file to run and optionally its export, ${example}`, standIn);
  if (typeof f.value !== 'string') return fail(f, `must be a string, ${example} ${got(f.value)}`, standIn);
  const hash = f.value.indexOf('#');
  const [file, name] = hash === -1 ? [f.value, undefined] : [f.value.slice(0, hash), f.value.slice(hash + 1)];
  const badExport = name !== undefined && !IDENTIFIER.test(name);
  const exportProblem = badExport ? 'the export after # must be a JavaScript identifier' : undefined;
  const problem = handlerFileProblem(file) ?? exportProblem;
  if (problem) return fail(f, `${problem}, ${example} ${got(f.value)}`, standIn);
  return name === undefined ? { path: file } : { path: file, export: name };
}

function handlerFileProblem(file: string): string | undefined {
  if (file.startsWith('/') || file.includes('\\') || /^[A-Za-z]:/.test(file)) {
    return 'the file must be a path relative to gust.yaml, with / between folders';
  }
  // Bundling reads the file on the deployer's machine: keep it inside the project folder.
  if (file.split('/').includes('..')) return 'the file must be inside the folder of gust.yaml (no ..)';
  if (!/\.(?:ts|mts|js|mjs)$/.test(file)) return 'the file must end with .ts, .mts, .js or .mjs';
  return undefined;
}

/** One of `choices` (the first is the default); `refused` explains known values not accepted yet. */
function readChoice<T extends string>(f: Field, choices: readonly T[], refused: Record<string, string>): T {
  const fallback = choices[0]!;
  const value = f.value;
  if (absent(value)) return fallback;
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  if (typeof value === 'string' && Object.hasOwn(refused, value)) return fail(f, refused[value]!, fallback);
  const accepted = choices.length === 1 ? fallback : `one of ${choices.join(', ')}`;
  return fail(f, `must be ${accepted} ${got(value)}`, fallback);
}

function readWhole(f: Field, range: Range, what: string): number {
  const value = f.value;
  if (absent(value)) return range.default;
  if (typeof value === 'number' && Number.isInteger(value) && value >= range.min && value <= range.max)
    return value;
  return fail(f, `must be ${what} from ${range.min} to ${range.max} ${got(value)}`, range.default);
}

function readDuration(f: Field, range: Range): number {
  const value = f.value;
  if (absent(value)) return range.default;
  const bounds = `from ${formatDuration(range.min)} to ${formatDuration(range.max)}`;
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined) {
    // A bare number is the likeliest mistake, and its unit would be a guess: ask for one.
    const hint = typeof value === 'number' ? `(got ${value}: add a unit, like ${value}s)` : got(value);
    return fail(f, `must be a duration like 500ms, 30s, 5m or 1h, ${bounds} ${hint}`, range.default);
  }
  if (ms < range.min || ms > range.max) return fail(f, `must be ${bounds} ${got(value)}`, range.default);
  return ms;
}

function readScale(f: Field): FunctionSpec['scale'] {
  const { scaleMin, scaleMax, idleMs } = LIMITS;
  const defaults = { min: scaleMin.default, max: scaleMax.default, idleMs: idleMs.default };
  if (absent(f.value)) return defaults;
  if (!isMap(f.value))
    return fail(f, `must be a map like { min: 0, max: 10, idle: 60s } ${got(f.value)}`, defaults);
  checkKeys(f, ['min', 'max', 'idle']);
  const errorsBefore = f.errors.length;
  const max = readWhole(entry(f, 'max'), scaleMax, 'a whole number');
  const min = readWhole(entry(f, 'min'), scaleMin, 'a whole number');
  // Compare only two values the user got right, or the message would quote a stand-in.
  if (f.errors.length === errorsBefore && min > max) {
    const which = absent(entry(f, 'max').value) ? `${max}, the default` : `${max}`;
    report(entry(f, 'min'), `must be at most scale.max (${which}); lower min or raise max`);
  }
  return { min, max, idleMs: readDuration(entry(f, 'idle'), idleMs) };
}

function readEnv(f: Field): Record<string, string> {
  if (absent(f.value)) return {};
  if (!isMap(f.value))
    return fail(f, `must be a map of NAME: value, like { SIZE: "512" } ${got(f.value)}`, {});
  // fromEntries defines own properties, so a variable named __proto__ stays a variable.
  return Object.fromEntries(Object.keys(f.value).map((name) => [name, readEnvValue(name, entry(f, name))]));
}

function readEnvValue(name: string, f: Field): string {
  const value = f.value;
  if (!ENV_NAME.test(name)) return fail(f, 'names are letters, digits and _, not starting with a digit', '');
  if (name === 'NODE_OPTIONS') {
    return fail(f, 'reserved: Gust sets NODE_OPTIONS itself to enforce memory and sandbox limits', '');
  }
  if (name.startsWith('GUST_')) {
    return fail(f, 'reserved: names starting with GUST_ are set by the platform; choose another name', '');
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') return fail(f, `must be a string, a number or true/false ${got(value)}`, '');
  // A process environment cannot hold NUL: the instance would fail to start.
  return value.includes('\0') ? fail(f, 'must not contain a NUL character', '') : value;
}

function readPermissions(f: Field): string[] {
  const valid = readList(f, 'like [kv:jobs:write]').flatMap((item) => {
    if (typeof item.value === 'string' && PERMISSION.test(item.value)) return [item.value];
    return fail(item, `must be one of ${PERMISSION_FORMS} ${got(item.value)}`, []);
  });
  return [...new Set(valid)];
}

function readTriggers(f: Field): HttpTrigger[] {
  return readList(f, 'like [{ http: { path: /hello } }]').flatMap((item) => readTrigger(item) ?? []);
}

function readTrigger(f: Field): HttpTrigger | undefined {
  const example = '- http: { path: /hello }';
  if (!isMap(f.value)) {
    return fail(f, `must be a map with one key, the trigger kind, like ${example} ${got(f.value)}`);
  }
  const kinds = Object.keys(f.value);
  if (kinds.length !== 1) {
    const keys = kinds.length === 0 ? 'none' : kinds.map(showKey).join(', ');
    const message = `must have exactly one key, the trigger kind (got ${keys}); check the indentation: ${example}`;
    return fail(f, message);
  }
  const kind = kinds[0]!;
  const body = entry(f, kind);
  if (kind === 'http') return readHttp(body);
  if (TRIGGER_KINDS.includes(kind)) return fail(body, `${kind} triggers are ${NOT_YET}`);
  const guess = suggest(kind, TRIGGER_KINDS);
  const didYouMean = guess ? ` (did you mean ${guess}?)` : '';
  return fail(body, `unknown trigger kind${didYouMean}; the kinds are ${TRIGGER_KINDS.join(', ')}`);
}

function readHttp(f: Field): HttpTrigger | undefined {
  if (!isMap(f.value)) {
    return fail(f, `must be a map like { path: /hello, methods: [GET] } ${got(f.value)}`);
  }
  checkKeys(f, ['path', 'methods', 'auth']);
  const route = readRoutePath(entry(f, 'path'));
  const methods = readMethods(entry(f, 'methods'));
  const auth = readChoice(entry(f, 'auth'), ['public', 'key'], {});
  if (route === undefined) return undefined;
  f.routes.push({ where: f.path, path: route.path, shape: route.shape, methods });
  return { type: 'http', path: route.path, methods, auth };
}

function readRoutePath(f: Field): { path: string; shape: string } | undefined {
  const example = 'the URL path, like /hello or /items/:id';
  if (absent(f.value)) return fail(f, `required: ${example}`);
  if (typeof f.value !== 'string') return fail(f, `must be a string, ${example} ${got(f.value)}`);
  const parsed = parseRoutePath(f.value);
  if (!parsed.ok) return fail(f, parsed.error);
  const first = parsed.segments[0];
  if (first?.kind === 'literal' && RESERVED_PATH_PREFIXES.includes(first.text)) {
    const reserved = RESERVED_PATH_PREFIXES.map((p) => `/${p}/`).join(' and ');
    return fail(f, `is reserved: Gust serves ${reserved} itself; choose another path`);
  }
  return { path: f.value, shape: routeShape(parsed.segments) };
}

function readMethods(f: Field): HttpMethod[] {
  const every = 'leave methods out to accept every method';
  const methods = readList(f, `like [GET, POST]; ${every}`).flatMap((item) => {
    const upper = typeof item.value === 'string' ? item.value.toUpperCase() : '';
    if ((HTTP_METHODS as readonly string[]).includes(upper)) return [upper as HttpMethod];
    return fail(item, `must be one of ${HTTP_METHODS.join(', ')} ${got(item.value)}; ${every}`, []);
  });
  return [...new Set(methods)];
}

// ---- the reading kit ----

/** The items of a list field (absent: none), each as a field of its own. */
function readList(f: Field, example: string): Field[] {
  if (absent(f.value)) return [];
  if (!Array.isArray(f.value)) return fail(f, `must be a list, ${example} ${got(f.value)}`, []);
  return f.value.map((value: unknown, i) => ({ ...f, value, path: at(f.path, i) }));
}

/** The entry `key` of a map field. Own properties only: `constructor` must not find Object's. */
function entry(f: Field, key: string): Field {
  const value = isMap(f.value) && Object.hasOwn(f.value, key) ? f.value[key] : undefined;
  return { ...f, value, path: at(f.path, key) };
}

function report(f: Field, message: string): void {
  f.errors.push(f.path === '' ? message : `${f.path}: ${message}`);
}

/** Reports an error and hands back a stand-in value, so reading goes on and finds the rest. */
function fail(f: Field, message: string): undefined;
function fail<T>(f: Field, message: string, standIn: T): T;
function fail<T>(f: Field, message: string, standIn?: T): T | undefined {
  report(f, message);
  return standIn;
}

function checkKeys(f: Field, known: readonly string[]): void {
  if (!isMap(f.value)) return;
  for (const key of Object.keys(f.value)) {
    if (known.includes(key)) continue;
    const guess = suggest(key, known);
    const message = guess
      ? `unknown key (did you mean ${guess}?)`
      : `unknown key; the keys here are ${known.join(', ')}`;
    report(entry(f, key), message);
  }
}

function absent(value: unknown): value is null | undefined {
  return value === undefined || value === null;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const SIMPLE_KEY = /^[A-Za-z_][\w-]*$/;

/** Extends a key path: `functions` + `api` -> `functions.api`; odd keys are quoted: `env["A B"]`. */
function at(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (!SIMPLE_KEY.test(key)) return `${path}[${showKey(key)}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** A key as messages show it: as is when plain, else quoted so that errors stay on one line. */
function showKey(key: string): string {
  return SIMPLE_KEY.test(key) ? key : describe(key);
}

/** `(got "lots")`: how a wrong value is quoted back, short and safe whatever its type. */
function got(value: unknown): string {
  return `(got ${describe(value)})`;
}

function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (absent(value)) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'function' || typeof value === 'symbol') return `a ${typeof value}`;
  return String(value);
}

/** The known word a typo most likely meant: edit distance of 1 (2 for words over 4 letters). */
function suggest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance && d <= (candidate.length > 4 ? 2 : 1)) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return Number.POSITIVE_INFINITY; // too far to suggest anyway
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
