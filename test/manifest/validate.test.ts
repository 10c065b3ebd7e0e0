import { describe, expect, it } from 'vitest';
import { validateManifest } from '../../src/manifest/load.js';
import type { FunctionSpec } from '../../src/manifest/types.js';

/** A manifest with one function `api` whose settings are `settings` on top of a handler. */
function withApi(settings: Record<string, unknown>): unknown {
  return { functions: { api: { handler: 'src/api.ts', ...settings } } };
}

function errorsOf(raw: unknown): string[] {
  const result = validateManifest(raw);
  if (result.ok) throw new Error(`expected errors, got a valid manifest: ${JSON.stringify(result.manifest)}`);
  return result.errors;
}

function onlyFunction(raw: unknown): FunctionSpec {
  const result = validateManifest(raw);
  if (!result.ok) throw new Error(`expected a valid manifest, got:\n${result.errors.join('\n')}`);
  expect(result.manifest.functions).toHaveLength(1);
  return result.manifest.functions[0]!;
}

describe('validateManifest defaults', () => {
  it('gives a function with only a handler every default', () => {
    expect(onlyFunction(withApi({}))).toEqual({
      name: 'api',
      handler: { path: 'src/api.ts' },
      runtime: 'node',
      memoryMb: 128,
      timeoutMs: 30_000,
      concurrency: 1,
      scale: { min: 0, max: 10, idleMs: 60_000 },
      env: {},
      permissions: [],
      events: 'cloudevents',
      triggers: [],
    });
  });

  it('leaves export out of the handler when the manifest does not name one', () => {
    expect('export' in onlyFunction(withApi({})).handler).toBe(false);
  });

  it('treats a key left empty (null) as absent and applies its default', () => {
    const fn = onlyFunction(withApi({ memory: null, timeout: null, scale: null, env: null, triggers: null }));
    expect([fn.memoryMb, fn.timeoutMs, fn.scale.max, fn.env, fn.triggers]).toEqual([128, 30_000, 10, {}, []]);
  });

  it('fills in the parts of scale and of an http trigger that are left out', () => {
    const fn = onlyFunction(withApi({ scale: { max: 50 }, triggers: [{ http: { path: '/hello' } }] }));
    expect(fn.scale).toEqual({ min: 0, max: 50, idleMs: 60_000 });
    expect(fn.triggers).toEqual([{ type: 'http', path: '/hello', methods: [], auth: 'public' }]);
  });
});

describe('validateManifest normalization', () => {
  it('normalizes a full function: handler export, durations, env as strings, upper-case methods', () => {
    const fn = onlyFunction(
      withApi({
        handler: 'src/api.mts#handler',
        runtime: 'node',
        memory: 256,
        timeout: '1.5s',
        concurrency: 8,
        scale: { min: 1, max: 50, idle: '5m' },
        env: { SIZE: 512, DEBUG: true, NAME: 'x', RATIO: 0.5 },
        permissions: ['bucket:uploads:read', 'kv:jobs:write', 'topic:done:publish', 'function:resize:invoke'],
        events: 'aws',
        secrets: [],
        input: {},
        triggers: [{ http: { path: '/items/:id', methods: ['get', 'Post', 'GET'], auth: 'key' } }],
      }),
    );
    expect(fn).toEqual({
      name: 'api',
      handler: { path: 'src/api.mts', export: 'handler' },
      runtime: 'node',
      memoryMb: 256,
      timeoutMs: 1500,
      concurrency: 8,
      scale: { min: 1, max: 50, idleMs: 300_000 },
      env: { SIZE: '512', DEBUG: 'true', NAME: 'x', RATIO: '0.5' },
      permissions: ['bucket:uploads:read', 'kv:jobs:write', 'topic:done:publish', 'function:resize:invoke'],
      events: 'aws',
      triggers: [{ type: 'http', path: '/items/:id', methods: ['GET', 'POST'], auth: 'key' }],
    });
  });

  it('keeps the functions in the order of the manifest', () => {
    const result = validateManifest({
      functions: { b: { handler: 'b.js' }, a: { handler: 'a.js' }, c: { handler: 'c.mjs' } },
    });
    expect(result.ok && result.manifest.functions.map((f) => f.name)).toEqual(['b', 'a', 'c']);
  });

  it('keeps an env variable named __proto__ as a variable, not as a prototype', () => {
    const env = onlyFunction(withApi({ env: JSON.parse('{"__proto__": "x"}') })).env;
    expect(Object.keys(env)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(env)).toBe(Object.prototype);
  });

  it('accepts empty buckets, kv and topics lists', () => {
    const result = validateManifest({
      functions: { a: { handler: 'a.ts' } },
      buckets: [],
      kv: [],
      topics: null,
    });
    expect(result.ok).toBe(true);
  });
});

describe('validateManifest errors, each with its key path', () => {
  it.each<[string, unknown, string]>([
    // document
    ['an empty document', null, 'the manifest is empty; start with functions:'],
    ['a list as the document', [], 'the manifest must be a map with a functions key (got a list)'],
    [
      'a string as the document',
      'functions',
      'the manifest must be a map with a functions key (got "functions")',
    ],
    ['no functions', {}, 'functions: required: a map of function name to settings'],
    ['functions as a list', { functions: [] }, 'functions: must be a map of function name to settings'],
    ['an empty functions map', { functions: {} }, 'functions: must declare at least one function'],
    [
      'a non-empty buckets list',
      { ...(withApi({}) as object), buckets: ['uploads'] },
      'buckets: not supported yet by this version of Gust (coming with storage)',
    ],
    [
      'a non-empty kv list',
      { ...(withApi({}) as object), kv: ['jobs'] },
      'kv: not supported yet by this version of Gust (coming with storage)',
    ],
    [
      'a non-empty topics list',
      { ...(withApi({}) as object), topics: ['done'] },
      'topics: not supported yet by this version of Gust',
    ],
    [
      'buckets as a map',
      { ...(withApi({}) as object), buckets: { a: 1 } },
      'buckets: must be a list of names',
    ],
    // function
    [
      'an upper-case function name',
      { functions: { Resize: { handler: 'a.ts' } } },
      'functions.Resize: function names are lower-case',
    ],
    [
      'a function name with a space',
      { functions: { 'my fn': { handler: 'a.ts' } } },
      'functions["my fn"]: function names are lower-case',
    ],
    [
      'a function name of 64 characters',
      { functions: { [`a${'b'.repeat(63)}`]: { handler: 'a.ts' } } },
      `functions.a${'b'.repeat(63)}: function names are lower-case`,
    ],
    [
      'a function given as a string',
      { functions: { api: 'src/api.ts' } },
      'functions.api: must be a map of settings with at least a handler, like { handler: "src/api.ts" }',
    ],
    [
      'no handler',
      { functions: { api: { memory: 256 } } },
      'functions.api.handler: required: the file to run',
    ],
    // handler
    [
      'an absolute handler',
      withApi({ handler: '/src/api.ts' }),
      'functions.api.handler: the file must be a path relative to gust.yaml',
    ],
    [
      'a handler outside the folder',
      withApi({ handler: '../api.ts' }),
      'functions.api.handler: the file must be inside the folder of gust.yaml',
    ],
    [
      'a handler with a Windows drive',
      withApi({ handler: 'C:/api.ts' }),
      'functions.api.handler: the file must be a path relative',
    ],
    [
      'a handler of another type',
      withApi({ handler: 'src/api.py' }),
      'functions.api.handler: the file must end with .ts, .mts, .js or .mjs, like src/hello.ts',
    ],
    [
      'a handler whose export is not an identifier',
      withApi({ handler: 'src/api.ts#my-handler' }),
      'functions.api.handler: the export after # must be a JavaScript identifier',
    ],
    [
      'a handler with an empty export',
      withApi({ handler: 'src/api.ts#' }),
      'functions.api.handler: the export after #',
    ],
    [
      'a handler that is a number',
      withApi({ handler: 42 }),
      'functions.api.handler: must be a string, like src/hello.ts',
    ],
    // runtime, events
    [
      'the isolate runtime',
      withApi({ runtime: 'isolate' }),
      'functions.api.runtime: isolate is not supported yet by this version of Gust; use node',
    ],
    ['an unknown runtime', withApi({ runtime: 'deno' }), 'functions.api.runtime: must be node (got "deno")'],
    [
      'an unknown events shape',
      withApi({ events: 'json' }),
      'functions.api.events: must be one of cloudevents, aws (got "json")',
    ],
    // numbers
    [
      'memory as a word',
      withApi({ memory: 'lots' }),
      'functions.api.memory: must be a whole number of MB from 64 to 10240 (got "lots")',
    ],
    [
      'memory below the minimum',
      withApi({ memory: 32 }),
      'functions.api.memory: must be a whole number of MB from 64 to 10240 (got 32)',
    ],
    [
      'memory above the maximum',
      withApi({ memory: 10_241 }),
      'functions.api.memory: must be a whole number of MB from 64 to 10240 (got 10241)',
    ],
    [
      'memory with a unit',
      withApi({ memory: '512MB' }),
      'functions.api.memory: must be a whole number of MB',
    ],
    ['fractional memory', withApi({ memory: 128.5 }), 'functions.api.memory: must be a whole number of MB'],
    [
      'zero concurrency',
      withApi({ concurrency: 0 }),
      'functions.api.concurrency: must be a whole number from 1 to 1000 (got 0)',
    ],
    [
      'concurrency as a string',
      withApi({ concurrency: '4' }),
      'functions.api.concurrency: must be a whole number from 1 to 1000 (got "4")',
    ],
    // durations
    [
      'a timeout without a unit',
      withApi({ timeout: 30 }),
      'functions.api.timeout: must be a duration like 500ms, 30s, 5m or 1h, from 100ms to 15m (got 30: add a unit, like 30s)',
    ],
    [
      'a timeout that is not a duration',
      withApi({ timeout: 'soon' }),
      'functions.api.timeout: must be a duration like 500ms, 30s, 5m or 1h, from 100ms to 15m (got "soon")',
    ],
    [
      'a timeout under 100ms',
      withApi({ timeout: '99ms' }),
      'functions.api.timeout: must be from 100ms to 15m (got "99ms")',
    ],
    [
      'a timeout over 15 minutes',
      withApi({ timeout: '16m' }),
      'functions.api.timeout: must be from 100ms to 15m (got "16m")',
    ],
    // scale
    [
      'scale.min over scale.max',
      withApi({ scale: { min: 5, max: 2 } }),
      'functions.api.scale.min: must be at most scale.max (2); lower min or raise max',
    ],
    [
      'scale.min over the default scale.max',
      withApi({ scale: { min: 20 } }),
      'functions.api.scale.min: must be at most scale.max (10, the default)',
    ],
    [
      'a scale.max of zero',
      withApi({ scale: { max: 0 } }),
      'functions.api.scale.max: must be a whole number from 1 to 1000 (got 0)',
    ],
    [
      'a negative scale.min',
      withApi({ scale: { min: -1 } }),
      'functions.api.scale.min: must be a whole number from 0 to 1000 (got -1)',
    ],
    [
      'a scale.idle under 100ms',
      withApi({ scale: { idle: '10ms' } }),
      'functions.api.scale.idle: must be from 100ms to 1d (got "10ms")',
    ],
    [
      'a scale given as a number',
      withApi({ scale: 5 }),
      'functions.api.scale: must be a map like { min: 0, max: 10, idle: 60s } (got 5)',
    ],
    // env
    ['env as a list', withApi({ env: ['A=1'] }), 'functions.api.env: must be a map of NAME: value'],
    [
      'an env name with a dash',
      withApi({ env: { 'MY-VAR': 'x' } }),
      'functions.api.env.MY-VAR: names are letters, digits and _',
    ],
    [
      'an env name starting with a digit',
      withApi({ env: { '1X': 'x' } }),
      'functions.api.env["1X"]: names are letters, digits and _',
    ],
    [
      'NODE_OPTIONS in env',
      withApi({ env: { NODE_OPTIONS: '--inspect' } }),
      'functions.api.env.NODE_OPTIONS: reserved: Gust sets NODE_OPTIONS itself',
    ],
    [
      'a GUST_ name in env',
      withApi({ env: { GUST_URL: 'x' } }),
      'functions.api.env.GUST_URL: reserved: names starting with GUST_ are set by the platform',
    ],
    [
      'an env value that is a map',
      withApi({ env: { A: { b: 1 } } }),
      'functions.api.env.A: must be a string, a number or true/false (got a map)',
    ],
    [
      'an env value left empty',
      withApi({ env: { A: null } }),
      'functions.api.env.A: must be a string, a number or true/false (got nothing)',
    ],
    [
      'an env value with a NUL',
      withApi({ env: { A: 'a\0b' } }),
      'functions.api.env.A: must not contain a NUL character',
    ],
    // refused for now
    [
      'secrets',
      withApi({ secrets: ['STRIPE_KEY'] }),
      'functions.api.secrets: not supported yet by this version of Gust; remove it',
    ],
    [
      'input',
      withApi({ input: { type: 'object' } }),
      'functions.api.input: not supported yet by this version of Gust; remove it',
    ],
    [
      'retries',
      withApi({ retries: { max: 3 } }),
      'functions.api.retries: not supported yet by this version of Gust; remove it',
    ],
    // permissions
    [
      'a permission of an unknown form',
      withApi({ permissions: ['bucket:uploads:delete'] }),
      'functions.api.permissions[0]: must be one of bucket:NAME:read|write, kv:NS:read|write, topic:NAME:publish, function:NAME:invoke (got "bucket:uploads:delete")',
    ],
    [
      'a topic permission to read',
      withApi({ permissions: ['kv:a:read', 'topic:done:read'] }),
      'functions.api.permissions[1]: must be one of',
    ],
    [
      'an invoke permission on a bad function name',
      withApi({ permissions: ['function:Resize:invoke'] }),
      'functions.api.permissions[0]: must be one of',
    ],
    [
      'permissions as a string',
      withApi({ permissions: 'kv:a:read' }),
      'functions.api.permissions: must be a list, like [kv:jobs:write]',
    ],
    // triggers
    [
      'triggers as a map',
      withApi({ triggers: { http: { path: '/' } } }),
      'functions.api.triggers: must be a list, like [{ http: { path: /hello } }]',
    ],
    [
      'a trigger that is a string',
      withApi({ triggers: ['http'] }),
      'functions.api.triggers[0]: must be a map with one key, the trigger kind',
    ],
    [
      'a trigger with two keys (bad indentation)',
      withApi({ triggers: [{ http: null, path: '/x' }] }),
      'functions.api.triggers[0]: must have exactly one key, the trigger kind (got http, path); check the indentation',
    ],
    [
      'a trigger with no key',
      withApi({ triggers: [{}] }),
      'functions.api.triggers[0]: must have exactly one key, the trigger kind (got none)',
    ],
    [
      'a schedule trigger',
      withApi({ triggers: [{ http: { path: '/a' } }, { schedule: { cron: '0 3 * * *' } }] }),
      'functions.api.triggers[1].schedule: schedule triggers are not supported yet by this version of Gust',
    ],
    [
      'a webhook trigger',
      withApi({ triggers: [{ webhook: { path: '/hooks/gh' } }] }),
      'functions.api.triggers[0].webhook: webhook triggers are not supported yet',
    ],
    [
      'a misspelt trigger kind',
      withApi({ triggers: [{ htpp: { path: '/a' } }] }),
      'functions.api.triggers[0].htpp: unknown trigger kind (did you mean http?); the kinds are http, schedule, topic, bucket, webhook, kv, postgres, stream',
    ],
    [
      'an unknown trigger kind',
      withApi({ triggers: [{ email: {} }] }),
      'functions.api.triggers[0].email: unknown trigger kind; the kinds are http,',
    ],
    // http
    [
      'an http trigger without a path',
      withApi({ triggers: [{ http: { methods: ['GET'] } }] }),
      'functions.api.triggers[0].http.path: required: the URL path, like /hello or /items/:id',
    ],
    [
      'an http trigger given as a string',
      withApi({ triggers: [{ http: '/hello' }] }),
      'functions.api.triggers[0].http: must be a map like { path: /hello, methods: [GET] } (got "/hello")',
    ],
    [
      'an http path without a leading slash',
      withApi({ triggers: [{ http: { path: 'hello' } }] }),
      'functions.api.triggers[0].http.path: must start with / (got "hello")',
    ],
    [
      'a repeated path parameter',
      withApi({ triggers: [{ http: { path: '/a/:id/:id' } }] }),
      'functions.api.triggers[0].http.path: parameter :id appears twice',
    ],
    [
      'a * before the end of the path',
      withApi({ triggers: [{ http: { path: '/a/*/b' } }] }),
      'functions.api.triggers[0].http.path: * must be the last segment',
    ],
    [
      'a path under /_gust/',
      withApi({ triggers: [{ http: { path: '/_gust/ui' } }] }),
      'functions.api.triggers[0].http.path: is reserved: Gust serves /_gust/ and /2015-03-31/ itself',
    ],
    [
      'the path /_gust itself',
      withApi({ triggers: [{ http: { path: '/_gust' } }] }),
      'functions.api.triggers[0].http.path: is reserved',
    ],
    [
      'a path under the Lambda API',
      withApi({ triggers: [{ http: { path: '/2015-03-31/functions/*' } }] }),
      'functions.api.triggers[0].http.path: is reserved',
    ],
    [
      'an unknown method',
      withApi({ triggers: [{ http: { path: '/a', methods: ['GET', 'FETCH'] } }] }),
      'functions.api.triggers[0].http.methods[1]: must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS (got "FETCH"); leave methods out to accept every method',
    ],
    [
      'methods as a string',
      withApi({ triggers: [{ http: { path: '/a', methods: 'GET' } }] }),
      'functions.api.triggers[0].http.methods: must be a list, like [GET, POST]',
    ],
    [
      'an unknown auth',
      withApi({ triggers: [{ http: { path: '/a', auth: 'jwt' } }] }),
      'functions.api.triggers[0].http.auth: must be one of public, key (got "jwt")',
    ],
  ])('reports %s', (_what, raw, expected) => {
    const errors = errorsOf(raw);
    expect(
      errors.some((e) => e.startsWith(expected)),
      `${expected}\nnot in:\n${errors.join('\n')}`,
    ).toBe(true);
  });

  it('reports a wrong value only once, at its own path', () => {
    expect(errorsOf(withApi({ memory: 'lots' }))).toEqual([
      'functions.api.memory: must be a whole number of MB from 64 to 10240 (got "lots")',
    ]);
  });

  it('lists every error at once, across functions and keys, in document order', () => {
    const errors = errorsOf({
      functions: {
        a: {
          handler: 'a.py',
          memory: 1,
          timeout: '1h',
          triggers: [{ schedule: {} }, { http: { path: 'x' } }],
        },
        b: { memory: 256, env: { GUST_X: '1' } },
      },
      buckets: ['uploads'],
    });
    expect(errors).toEqual([
      'buckets: not supported yet by this version of Gust (coming with storage)',
      expect.stringMatching(/^functions\.a\.handler: /),
      expect.stringMatching(/^functions\.a\.memory: /),
      expect.stringMatching(/^functions\.a\.timeout: /),
      expect.stringMatching(/^functions\.a\.triggers\[0\]\.schedule: /),
      expect.stringMatching(/^functions\.a\.triggers\[1\]\.http\.path: /),
      expect.stringMatching(/^functions\.b\.handler: required/),
      expect.stringMatching(/^functions\.b\.env\.GUST_X: reserved/),
    ]);
  });
});

describe('validateManifest unknown keys', () => {
  it('suggests the key a typo most likely meant', () => {
    expect(errorsOf(withApi({ timout: '5s' }))).toEqual([
      'functions.api.timout: unknown key (did you mean timeout?)',
    ]);
    expect(errorsOf(withApi({ memroy: 256 }))).toEqual([
      'functions.api.memroy: unknown key (did you mean memory?)',
    ]);
    expect(errorsOf({ ...(withApi({}) as object), function: {} })).toEqual([
      'function: unknown key (did you mean functions?)',
    ]);
  });

  it('lists the known keys when nothing is close', () => {
    expect(errorsOf(withApi({ color: 'blue' }))).toEqual([
      'functions.api.color: unknown key; the keys here are handler, runtime, memory, timeout, concurrency, scale, env, secrets, permissions, events, input, retries, triggers',
    ]);
  });

  it('refuses unknown keys in scale and in http triggers too', () => {
    const errors = errorsOf(
      withApi({ scale: { maximum: 3 }, triggers: [{ http: { path: '/a', method: ['GET'] } }] }),
    );
    expect(errors).toEqual([
      'functions.api.scale.maximum: unknown key; the keys here are min, max, idle',
      'functions.api.triggers[0].http.method: unknown key (did you mean methods?)',
    ]);
  });

  it('does not take keys inherited from Object.prototype for settings', () => {
    expect(errorsOf({ functions: { api: { constructor: 'x', handler: 'a.ts' } } })).toEqual([
      'functions.api.constructor: unknown key; the keys here are handler, runtime, memory, timeout, concurrency, scale, env, secrets, permissions, events, input, retries, triggers',
    ]);
  });
});

describe('validateManifest route conflicts', () => {
  const http = (path: string, methods?: string[]) => ({ http: methods ? { path, methods } : { path } });

  it('refuses two routes of the same shape and method, naming both places', () => {
    const errors = errorsOf({
      functions: {
        a: { handler: 'a.ts', triggers: [http('/items/:id', ['GET'])] },
        b: { handler: 'b.ts', triggers: [http('/other'), http('/items/:key', ['get', 'POST'])] },
      },
    });
    expect(errors).toEqual([
      'functions.b.triggers[1].http: GET /items/:key is already served by functions.a.triggers[0].http (/items/:id); change one of the paths or give them different methods',
    ]);
  });

  it('treats a route without methods as overlapping every method', () => {
    const errors = errorsOf({
      functions: { a: { handler: 'a.ts', triggers: [http('/x'), http('/x', ['DELETE'])] } },
    });
    expect(errors).toEqual([
      expect.stringMatching(
        /^functions\.a\.triggers\[1\]\.http: DELETE \/x is already served by functions\.a\.triggers\[0\]\.http/,
      ),
    ]);
    const both = errorsOf({
      functions: {
        a: { handler: 'a.ts', triggers: [http('/x')] },
        b: { handler: 'b.ts', triggers: [http('/x')] },
      },
    });
    expect(both).toEqual([
      expect.stringMatching(/^functions\.b\.triggers\[0\]\.http: ANY \/x is already served by functions\.a/),
    ]);
  });

  it('accepts the same path with different methods, and paths of different shapes', () => {
    const result = validateManifest({
      functions: {
        a: { handler: 'a.ts', triggers: [http('/items/:id', ['GET']), http('/items/*'), http('/items/new')] },
        b: { handler: 'b.ts', triggers: [http('/items/:id', ['PUT', 'DELETE'])] },
      },
    });
    expect(result.ok).toBe(true);
  });

  it('still reports conflicts when other parts of the manifest have errors', () => {
    const errors = errorsOf({
      functions: { a: { handler: 'a.ts', memory: 1, triggers: [http('/x'), http('/x')] } },
    });
    expect(errors).toHaveLength(2);
    expect(errors[1]).toMatch(/^functions\.a\.triggers\[1\]\.http: ANY \/x is already served/);
  });
});
