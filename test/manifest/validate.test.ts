import { describe, expect, it } from 'vitest';
import { routeClaims, validateManifest } from '../../src/manifest/load.js';
import { projectFromFolder } from '../../src/manifest/schema.js';
import type { FunctionSpec } from '../../src/manifest/types.js';
import { testSpec } from '../helpers/spec.js';

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
      secrets: [],
      permissions: [],
      events: 'cloudevents',
      input: null,
      retries: { max: 2, backoffMs: 1000, deadLetter: null },
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
        permissions: ['topic:done:publish', 'function:resize:invoke', 'topic:done:publish'],
        events: 'aws',
        secrets: ['STRIPE_KEY', 'STRIPE_KEY'],
        input: { type: 'object', required: ['id'] },
        retries: { max: 3, backoff: '2s', deadLetter: 'failed' },
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
      secrets: ['STRIPE_KEY'],
      permissions: ['topic:done:publish', 'function:resize:invoke'],
      events: 'aws',
      input: { type: 'object', required: ['id'] },
      retries: { max: 3, backoffMs: 2000, deadLetter: 'failed' },
      triggers: [{ type: 'http', path: '/items/:id', methods: ['GET', 'POST'], auth: 'key' }],
    });
  });

  it('keeps egress: none, and leaves egress out of the spec when open (the default), as before it existed', () => {
    expect(onlyFunction(withApi({ egress: 'none' })).egress).toBe('none');
    expect('egress' in onlyFunction(withApi({ egress: 'open' }))).toBe(false);
    expect('egress' in onlyFunction(withApi({}))).toBe(false);
  });

  it('keeps a budget, and leaves budget out of the spec without one, as before it existed', () => {
    expect(onlyFunction(withApi({ budget: { gbSeconds: 0.001 } })).budget).toEqual({ gbSeconds: 0.001 });
    expect('budget' in onlyFunction(withApi({ budget: null }))).toBe(false);
    expect('budget' in onlyFunction(withApi({}))).toBe(false);
  });

  it('normalizes schedule, topic and webhook triggers with their defaults', () => {
    const fn = onlyFunction(
      withApi({
        triggers: [
          { schedule: { cron: ' */5 * * * * * ' } },
          { schedule: { cron: '0 3 * * *', timezone: 'Europe/Paris', catchUp: 0 } },
          { topic: { name: 'orders' } },
          { topic: { name: 'orders', batch: 10 } },
          { webhook: { path: '/hooks/github', verify: 'github', secret: 'GITHUB_SECRET' } },
        ],
      }),
    );
    expect(fn.triggers).toEqual([
      { type: 'schedule', cron: '*/5 * * * * *', timezone: 'UTC', catchUp: 1 },
      { type: 'schedule', cron: '0 3 * * *', timezone: 'Europe/Paris', catchUp: 0 },
      { type: 'topic', name: 'orders', batch: 1 },
      { type: 'topic', name: 'orders', batch: 10 },
      { type: 'webhook', path: '/hooks/github', verify: 'github', secret: 'GITHUB_SECRET' },
    ]);
  });

  it('refuses a webhook on a route an http trigger already serves for POST', () => {
    const fine = validateManifest(
      withApi({
        triggers: [
          { http: { path: '/hooks/:name', methods: ['POST'] } },
          { webhook: { path: '/hooks/github', verify: 'github', secret: 'S' } },
          { webhook: { path: '/other', verify: 'github', secret: 'S' } },
          { http: { path: '/other', methods: ['GET'] } },
        ],
      }),
    );
    // a literal path beats a parameter, so only the same shape conflicts; GET beside a webhook is fine
    expect(fine.ok).toBe(true);
    expect(
      errorsOf(
        withApi({
          triggers: [
            { http: { path: '/hooks/github' } },
            { webhook: { path: '/hooks/github', verify: 'github', secret: 'S' } },
          ],
        }),
      ),
    ).toEqual([
      expect.stringMatching(
        /^functions\.api\.triggers\[1\]\.webhook: POST \/hooks\/github is already served/,
      ),
    ]);
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

describe('validateManifest errors', () => {
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
      buckets: ['Uploads'],
    });
    expect(errors).toEqual([
      expect.stringMatching(/^buckets\[0\]: must be a bucket name/),
      expect.stringMatching(/^functions\.a\.handler: /),
      expect.stringMatching(/^functions\.a\.memory: /),
      expect.stringMatching(/^functions\.a\.timeout: /),
      expect.stringMatching(/^functions\.a\.triggers\[0\]\.schedule\.cron: required/),
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
      'functions.api.color: unknown key; the keys here are handler, runtime, memory, timeout, concurrency, scale, env, secrets, permissions, events, egress, input, retries, budget, triggers',
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
      'functions.api.constructor: unknown key; the keys here are handler, runtime, memory, timeout, concurrency, scale, env, secrets, permissions, events, egress, input, retries, budget, triggers',
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

describe('validateManifest project', () => {
  const fns = { functions: { api: { handler: 'a.ts' } } };

  it('takes the project gust.yaml names, and leaves it out when it names none', () => {
    const named = validateManifest({ project: 'shop', ...fns });
    expect(named.ok && named.manifest.project).toBe('shop');
    const unnamed = validateManifest(fns);
    expect(unnamed.ok && 'project' in unnamed.manifest).toBe(false);
  });

  it('refuses a project name that is not one, saying what a name is', () => {
    for (const project of ['Shop', '1shop', 'my shop', 'x'.repeat(64), 42, ['a']]) {
      const result = validateManifest({ project, ...fns });
      expect(!result.ok && result.errors).toEqual([expect.stringMatching(/^project: /)]);
    }
  });
});

describe('projectFromFolder', () => {
  it('makes a project name of a folder name, or default when nothing of it is usable', () => {
    expect(projectFromFolder('shop')).toBe('shop');
    expect(projectFromFolder('My Shop_2')).toBe('my-shop-2');
    expect(projectFromFolder('2024-reports')).toBe('reports');
    expect(projectFromFolder('...')).toBe('default');
    expect(projectFromFolder('')).toBe('default');
    expect(projectFromFolder(`a${'b'.repeat(80)}`)).toMatch(/^ab{62}$/);
  });
});

describe('routeClaims', () => {
  it('names each claim by its trigger kind, so a webhook clash points at the webhook', () => {
    const spec = testSpec('api', {
      triggers: [
        { type: 'http', path: '/a', methods: [], auth: 'public' },
        { type: 'webhook', path: '/hooks/x', verify: 'github', secret: 'S' },
      ],
    });
    expect(routeClaims([spec]).map((c) => c.where)).toEqual([
      'functions.api.triggers[0].http',
      'functions.api.triggers[1].webhook',
    ]);
  });
});
