import { describe, expect, it } from 'vitest';
import { type ManifestResult, parseManifest, validateManifest } from '../../src/manifest/load.js';
import { LIMITS } from '../../src/manifest/schema.js';
import { seededRandom } from '../helpers/random.js';

// Words the validator looks for, so random documents reach deep into the rules.
const WORDS = [
  'functions',
  'api',
  'handler',
  'src/a.ts',
  'src/a.ts#h',
  'runtime',
  'node',
  'isolate',
  'memory',
  'timeout',
  '30s',
  '1h',
  'concurrency',
  'scale',
  'min',
  'max',
  'idle',
  'env',
  'GUST_X',
  'NODE_OPTIONS',
  'permissions',
  'kv:a:read',
  'events',
  'aws',
  'egress',
  'none',
  'triggers',
  'http',
  'schedule',
  'path',
  '/a/:id',
  '/*',
  'methods',
  'get',
  'auth',
  'key',
  'buckets',
  '__proto__',
  'constructor',
  '',
  'x'.repeat(300),
  '/_gust/x',
  '%',
  'a\nb',
];

function randomValue(next: () => number, depth: number): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const kind = Math.floor(next() * (depth > 3 ? 6 : 8));
  switch (kind) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return pick([0, -1, 1, 64, 128.5, 1e21, 10_241, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]);
    case 3:
    case 4:
      return pick(WORDS);
    case 5:
      return undefined;
    case 6:
      return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
    default: {
      const map: Record<string, unknown> = {};
      const size = Math.floor(next() * 5);
      // defineProperty so that __proto__ becomes an own key, as JSON.parse makes it
      for (let i = 0; i < size; i++) {
        Object.defineProperty(map, pick(WORDS), {
          value: randomValue(next, depth + 1),
          enumerable: true,
          configurable: true,
          writable: true,
        });
      }
      return map;
    }
  }
}

/** A valid manifest with one spot replaced by a random value: errors deep in the tree. */
function mutatedManifest(next: () => number): unknown {
  const doc = {
    functions: {
      api: {
        handler: 'src/api.ts',
        memory: 256,
        scale: { min: 0, max: 5, idle: '1m' },
        env: { A: '1' },
        permissions: ['kv:jobs:read'],
        triggers: [{ http: { path: '/items/:id', methods: ['GET'], auth: 'key' } }],
      },
    },
  };
  const spots: Array<[Record<string, unknown> | unknown[], string | number]> = [];
  const collect = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      spots.push([node as Record<string, unknown>, Array.isArray(node) ? Number(k) : k]);
      collect(v);
    }
  };
  collect(doc);
  const [holder, key] = spots[Math.floor(next() * spots.length)]!;
  (holder as Record<string | number, unknown>)[key] = randomValue(next, 2);
  return doc;
}

function expectWellFormed(result: ManifestResult): void {
  if (!result.ok) {
    expect(result.errors.length).toBeGreaterThan(0);
    for (const error of result.errors) {
      expect(typeof error).toBe('string');
      expect(error.length).toBeGreaterThan(0);
      expect(error).not.toContain('\n'); // one error, one line
    }
    return;
  }
  for (const fn of result.manifest.functions) {
    expect(fn.memoryMb).toBeGreaterThanOrEqual(LIMITS.memoryMb.min);
    expect(fn.memoryMb).toBeLessThanOrEqual(LIMITS.memoryMb.max);
    expect(fn.scale.min).toBeLessThanOrEqual(fn.scale.max);
    for (const value of Object.values(fn.env)) expect(typeof value).toBe('string');
  }
}

describe('validateManifest under fuzzing', () => {
  it('never throws on random values and answers with well-formed errors', () => {
    const next = seededRandom(1);
    for (let i = 0; i < 500; i++) {
      const raw = randomValue(next, 0);
      expect(() => expectWellFormed(validateManifest(raw)), JSON.stringify(raw)).not.toThrow();
    }
  });

  it('never throws on random documents shaped like manifests', () => {
    const next = seededRandom(2);
    for (let i = 0; i < 300; i++) {
      const raw = {
        functions: { api: randomValue(next, 1), b: { handler: 'b.ts', triggers: [randomValue(next, 2)] } },
      };
      expect(() => expectWellFormed(validateManifest(raw)), JSON.stringify(raw)).not.toThrow();
    }
  });

  it('never throws when one spot of a valid manifest is replaced by something random', () => {
    const next = seededRandom(3);
    let refused = 0;
    for (let i = 0; i < 500; i++) {
      const raw = mutatedManifest(next);
      const result = validateManifest(raw);
      expect(() => expectWellFormed(result), JSON.stringify(raw)).not.toThrow();
      if (!result.ok) refused++;
    }
    expect(refused).toBeGreaterThan(100); // the mutations did reach the rules
  });

  it('never throws on random YAML-looking text', () => {
    const next = seededRandom(4);
    const pieces = [
      'functions:',
      '\n',
      '  ',
      '- ',
      ': ',
      '{',
      '}',
      '[',
      ']',
      '&a ',
      '*a',
      '<<: ',
      '---',
      '"',
      "'",
      '#',
      'api',
      'handler: a.ts',
      '!!str ',
      '?',
      '|',
    ];
    for (let i = 0; i < 300; i++) {
      const text = Array.from(
        { length: Math.floor(next() * 30) },
        () => pieces[Math.floor(next() * pieces.length)],
      ).join('');
      expect(() => expectWellFormed(parseManifest(text)), JSON.stringify(text)).not.toThrow();
    }
  });
});
