import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatManifestErrors,
  parseManifest,
  readManifest,
  routeClaims,
  routeConflicts,
  validateManifest,
} from '../../src/manifest/load.js';

const VALID = `
functions:
  resize:
    handler: src/resize.ts#handler
    memory: 256
    timeout: 10s
    env: { SIZE: 512 }
    triggers:
      - http: { path: /resize/:id, methods: [post], auth: key }
`;

describe('parseManifest', () => {
  it('reads YAML text into the normalized manifest', () => {
    const result = parseManifest(VALID);
    expect(result.ok && result.manifest.functions[0]).toMatchObject({
      name: 'resize',
      handler: { path: 'src/resize.ts', export: 'handler' },
      memoryMb: 256,
      timeoutMs: 10_000,
      env: { SIZE: '512' },
      triggers: [{ type: 'http', path: '/resize/:id', methods: ['POST'], auth: 'key' }],
    });
  });

  it('reports a YAML syntax error with its line and column', () => {
    const result = parseManifest('functions:\n  api:\n    handler: a.ts\n   memory: 256\n');
    expect(result).toEqual({ ok: false, errors: [expect.stringMatching(/^line 4, column \d+: /)] });
  });

  it('reports an unclosed flow list with its position', () => {
    const result = parseManifest('functions:\n  api: { handler: a.ts, triggers: [\n');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors[0]).toMatch(/^line \d+, column \d+: /);
  });

  it('refuses a key given twice, a mistake plain JSON would hide', () => {
    const result = parseManifest('functions:\n  api:\n    handler: a.ts\n    handler: b.ts\n');
    expect(result).toEqual({ ok: false, errors: ['line 4, column 5: Map keys must be unique'] });
  });

  it('refuses a file with several YAML documents in the user’s terms', () => {
    const result = parseManifest('functions: {}\n---\nfunctions: {}\n');
    expect(result).toEqual({
      ok: false,
      errors: ['line 2, column 1: the file must hold one YAML document; remove the ---'],
    });
  });

  it('reports an alias used before its anchor instead of throwing', () => {
    const result = parseManifest('functions:\n  api: *defaults\n');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors[0]).toMatch(/^YAML aliases: .*defaults/);
  });

  it('lets functions share settings through anchors and merge keys', () => {
    const result = parseManifest(
      'defaults: &d { memory: 512, timeout: 5s }\nfunctions:\n  a: { <<: *d, handler: a.ts }\n',
    );
    // the anchor's holder is itself an unknown top-level key: the merge worked, the key did not
    expect(result).toEqual({
      ok: false,
      errors: ['defaults: unknown key; the keys here are project, functions, buckets, kv, topics'],
    });
    const shared = parseManifest(
      'functions:\n  a: &a { handler: a.ts, memory: 512 }\n  b: { <<: *a, handler: b.ts }\n',
    );
    expect(shared.ok && shared.manifest.functions.map((f) => [f.name, f.handler.path, f.memoryMb])).toEqual([
      ['a', 'a.ts', 512],
      ['b', 'b.ts', 512],
    ]);
  });

  it('says an empty file or a comment-only file is empty', () => {
    for (const text of ['', '# nothing yet\n']) {
      const result = parseManifest(text);
      expect(!result.ok && result.errors).toEqual([
        'the manifest is empty; start with functions: { hello: { handler: src/hello.ts } }',
      ]);
    }
  });

  it('reports validation errors of YAML input by key path, all at once', () => {
    const result = parseManifest('functions:\n  api:\n    handler: a.ts\n    memory: lots\n    timout: 5s\n');
    expect(!result.ok && result.errors).toEqual([
      'functions.api.timout: unknown key (did you mean timeout?)',
      'functions.api.memory: must be a whole number of MB from 64 to 10240 (got "lots")',
    ]);
  });

  it('reads unquoted YAML words as strings, so on/yes/no stay text', () => {
    const result = parseManifest('functions:\n  api:\n    handler: a.ts\n    env: { FLAG: yes, N: 0x10 }\n');
    expect(result.ok && result.manifest.functions[0]?.env).toEqual({ FLAG: 'yes', N: '16' });
  });
});

describe('readManifest', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'gust-manifest-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function project(name: string, files: Record<string, string>): Promise<string> {
    const dir = join(root, name);
    await mkdir(dir, { recursive: true });
    for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text);
    return dir;
  }

  it('reads gust.yaml from a folder and says which file it read', async () => {
    const dir = await project('yaml', { 'gust.yaml': VALID });
    const result = await readManifest(dir);
    expect(result.ok).toBe(true);
    expect(result.path).toBe(join(dir, 'gust.yaml'));
  });

  it('falls back to gust.yml', async () => {
    const dir = await project('yml', { 'gust.yml': VALID });
    const result = await readManifest(dir);
    expect(result.ok).toBe(true);
    expect(result.path).toBe(join(dir, 'gust.yml'));
  });

  it('refuses a folder with both gust.yaml and gust.yml rather than pick one silently', async () => {
    const dir = await project('both', { 'gust.yaml': VALID, 'gust.yml': VALID });
    const result = await readManifest(dir);
    expect(!result.ok && result.errors).toEqual([
      `both ${join(dir, 'gust.yaml')} and ${join(dir, 'gust.yml')} exist; keep one`,
    ]);
  });

  it('says which files it looked for, where, and how to fix it when there is none', async () => {
    const dir = await project('empty', {});
    const result = await readManifest(dir);
    expect(result.path).toBe(join(dir, 'gust.yaml'));
    expect(!result.ok && result.errors).toEqual([
      `no manifest in ${dir} (looked for gust.yaml and gust.yml); create gust.yaml there, like functions: { hello: { handler: src/hello.ts } }, or name the folder that has one`,
    ]);
  });

  it('reports a folder that does not exist the same way, without throwing', async () => {
    const result = await readManifest(join(root, 'missing'));
    expect(!result.ok && result.errors[0]).toMatch(
      /^no manifest in .*missing \(looked for gust\.yaml and gust\.yml\)/,
    );
  });

  it('reports a gust.yaml that cannot be read as a file', async () => {
    const dir = await project('dir', {});
    await mkdir(join(dir, 'gust.yaml'));
    const result = await readManifest(dir);
    expect(!result.ok && result.errors[0]).toMatch(/^cannot read .*gust\.yaml: EISDIR/);
  });

  it('passes on the errors of the file it read', async () => {
    const dir = await project('bad', { 'gust.yaml': 'functions:\n  api: { handler: a.py }\n' });
    const result = await readManifest(dir);
    expect(!result.ok && result.errors[0]).toMatch(/^functions\.api\.handler: the file must end with/);
  });
});

describe('formatManifestErrors', () => {
  it('prints one error on one line, after the file name', () => {
    expect(formatManifestErrors(['functions: required'])).toBe('gust.yaml: functions: required');
  });

  it('prints several errors under a count, one per line', () => {
    expect(formatManifestErrors(['a: x', 'b: y'], 'app/gust.yml')).toBe(
      'app/gust.yml has 2 errors:\n  a: x\n  b: y',
    );
  });
});

describe('routeClaims and routeConflicts', () => {
  it('find a conflict between a manifest and functions deployed before it', () => {
    const deployed = validateManifest({
      functions: { old: { handler: 'a.ts', triggers: [{ http: { path: '/items/:id', methods: ['GET'] } }] } },
    });
    const incoming = validateManifest({
      functions: {
        api: { handler: 'b.ts', triggers: [{ http: { path: '/other' } }, { http: { path: '/items/:n' } }] },
      },
    });
    if (!deployed.ok || !incoming.ok) throw new Error('fixtures must be valid');
    const errors = routeConflicts([
      ...routeClaims(deployed.manifest.functions, (fn) => `deployed function ${fn.name}`),
      ...routeClaims(incoming.manifest.functions),
    ]);
    expect(errors).toEqual([
      'functions.api.triggers[1].http: GET /items/:n is already served by deployed function old (/items/:id); change one of the paths or give them different methods',
    ]);
  });
});
