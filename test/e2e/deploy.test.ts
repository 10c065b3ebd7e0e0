import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, cli, deploy, type Gust, startGust, writeProject } from '../helpers/gust.js';

let g: Gust;
let dir: string;

const handler = (word: string) => `export default () => new Response(${JSON.stringify(word)});`;

beforeAll(async () => {
  g = await startGust();
  dir = await writeProject({
    'gust.yaml':
      'functions:\n  greet:\n    handler: greet.mjs\n    triggers:\n      - http: { path: /greet }\n',
    'greet.mjs': handler('one'),
  });
  await deploy(g, dir);
});

afterAll(async () => {
  await g?.stop();
});

const get = async (p: string) => (await fetch(`${g.url}${p}`)).text();

describe('deploy, versions and rollback', () => {
  it('makes no new version when the same code is deployed again', async () => {
    const again = await cli(g, ['deploy', dir, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      functions: [{ name: 'greet', version: 1, changed: false }],
    });
  });

  it('makes a numbered version per change and rolls back atomically', async () => {
    await writeFile(path.join(dir, 'greet.mjs'), handler('two'));
    await deploy(g, dir);
    expect(await get('/greet')).toBe('two');
    const versions = await cli(g, ['versions', 'greet', '--json']);
    expect(
      JSON.parse(versions.stdout).versions.map((v: { version: number; active: boolean }) => [
        v.version,
        v.active,
      ]),
    ).toEqual([
      [1, false],
      [2, true],
    ]);
    const back = await cli(g, ['rollback', 'greet']);
    expect(back.code).toBe(0);
    expect(await get('/greet')).toBe('one');
    const forward = await cli(g, ['rollback', 'greet', '2']);
    expect(forward.code).toBe(0);
    expect(await get('/greet')).toBe('two');
    const missing = await cli(g, ['rollback', 'greet', '9']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no version 9');
  });
});

describe('a bad manifest', () => {
  const cases: [string, string, string][] = [
    [
      'an unknown key',
      'functions:\n  greet:\n    handler: greet.mjs\n    timout: 5s\n',
      'functions.greet.timout',
    ],
    [
      'a bad duration',
      'functions:\n  greet:\n    handler: greet.mjs\n    timeout: soon\n',
      'functions.greet.timeout',
    ],
    [
      'memory out of range',
      'functions:\n  greet:\n    handler: greet.mjs\n    memory: 1\n',
      'functions.greet.memory',
    ],
    ['a bad name', 'functions:\n  Greet_Me:\n    handler: greet.mjs\n', 'functions.Greet_Me'],
    [
      'a trigger not supported yet',
      'functions:\n  greet:\n    handler: greet.mjs\n    triggers:\n      - stream: { from: mqtt }\n',
      'functions.greet.triggers[0].stream',
    ],
    [
      'a reserved path',
      'functions:\n  greet:\n    handler: greet.mjs\n    triggers:\n      - http: { path: /_gust/x }\n',
      'functions.greet.triggers[0].http.path',
    ],
    ['broken YAML', 'functions:\n  greet: [\n', 'line '],
  ];
  for (const [what, yaml, where] of cases) {
    it(`with ${what} is refused by path and leaves the deployed version serving`, async () => {
      const bad = await writeProject({ 'gust.yaml': yaml, 'greet.mjs': handler('bad') });
      const r = await cli(g, ['deploy', bad]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(where);
      expect(await get('/greet')).toBe('two');
    });
  }

  it('lists every error at once', async () => {
    const bad = await writeProject({
      'gust.yaml':
        'functions:\n  greet:\n    handler: greet.mjs\n    memory: lots\n    timeout: 0\n    concurrency: -1\n',
      'greet.mjs': handler('bad'),
    });
    const r = await cli(g, ['deploy', bad]);
    expect(r.code).toBe(1);
    for (const p of ['functions.greet.memory', 'functions.greet.timeout', 'functions.greet.concurrency']) {
      expect(r.stderr).toContain(p);
    }
  });

  it('is refused by the server too, whole, when sent past the CLI', async () => {
    const r = await api<{ error: { code: string; details: string[] } }>(g, 'POST', '/deploy', {
      manifest: 'functions:\n  greet:\n    handler: greet.mjs\n    memory: 3\n  other:\n    handler: x.mjs\n',
      bundles: { greet: handler('sneaky'), other: handler('x') },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('MANIFEST_INVALID');
    expect(r.body.error.details.join('\n')).toContain('functions.greet.memory');
    expect(await get('/greet')).toBe('two');
    expect((await api(g, 'GET', '/functions/other')).status).toBe(404);
  });

  it('whose route is already served by another function is refused', async () => {
    const r = await api<{ error: { code: string; details: string[] } }>(g, 'POST', '/deploy', {
      manifest:
        'functions:\n  thief:\n    handler: t.mjs\n    triggers:\n      - http: { path: /greet, methods: [GET] }\n',
      bundles: { thief: handler('stolen') },
    });
    expect(r.status).toBe(409);
    expect(r.body.error.details.join('\n')).toContain('already served by function greet of project app');
    expect(await get('/greet')).toBe('two');
  });

  it('whose handler does not bundle names the function and file', async () => {
    const bad = await writeProject({
      'gust.yaml': 'functions:\n  greet:\n    handler: greet.ts\n',
      'greet.ts': 'import x from "left-padd-missing";\nexport default () => new Response(x);\n',
    });
    const r = await cli(g, ['deploy', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('functions.greet.handler');
    expect(r.stderr).toContain('left-padd-missing');
    expect(await get('/greet')).toBe('two');
  });
});

describe('functions with npm dependencies and TypeScript', () => {
  it('bundle dependencies from the project node_modules', async () => {
    const project = await writeProject({
      'gust.yaml':
        'functions:\n  padded:\n    handler: src/padded.ts\n    triggers:\n      - http: { path: /padded }\n',
      'src/padded.ts':
        "import type { Context } from 'gust';\nimport pad from 'tiny-pad';\nexport default (_req: Request, ctx: Context): Response => new Response(pad(ctx.functionName, 10));\n",
      'node_modules/tiny-pad/package.json': '{"name":"tiny-pad","version":"1.0.0","main":"index.js"}',
      'node_modules/tiny-pad/index.js':
        "const path = require('node:path');\nmodule.exports = (s, n) => path.basename(s).padStart(n, '*');\n",
    });
    await deploy(g, project);
    expect(await get('/padded')).toBe('****padded');
  });
});

describe('rm', () => {
  it('removes a function and its routes', async () => {
    const project = await writeProject({
      'gust.yaml':
        'functions:\n  doomed:\n    handler: d.mjs\n    triggers:\n      - http: { path: /doomed }\n',
      'd.mjs': handler('alive'),
    });
    await deploy(g, project);
    expect(await get('/doomed')).toBe('alive');
    expect((await cli(g, ['rm', 'doomed'])).code).toBe(0);
    const res = await fetch(`${g.url}/doomed`);
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('NOT_FOUND');
    const ls = await cli(g, ['ls', '--json']);
    expect(JSON.parse(ls.stdout).functions.map((f: { name: string }) => f.name)).not.toContain('doomed');
  });
});
