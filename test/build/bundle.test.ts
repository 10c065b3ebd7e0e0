import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BundleResult, Bundler, bundleFunctions } from '../../src/build/bundle.js';
import { thinMappings } from '../../src/build/sourcemap.js';
import type { FunctionSpec } from '../../src/manifest/types.js';
import { INLINE_MAP_PREFIX, SourceMapIndex } from '../../src/runtime/sandbox/sourcemap.js';
import { testSpec } from '../helpers/spec.js';

const run = promisify(execFile);

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gust-bundle-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function spec(name: string, handlerPath: string, exportName?: string): FunctionSpec {
  return testSpec(name, {
    handler: exportName === undefined ? { path: handlerPath } : { path: handlerPath, export: exportName },
  });
}

async function write(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
  await writeFile(path.join(dir, file), text);
}

/** A tiny CommonJS package that itself requires a node builtin, as many npm packages do. */
async function writeLeftpadLite(): Promise<void> {
  await write(
    'node_modules/leftpad-lite/package.json',
    JSON.stringify({ name: 'leftpad-lite', main: 'index.js' }),
  );
  await write(
    'node_modules/leftpad-lite/index.js',
    [
      "const path = require('node:path');",
      'module.exports = function leftpad(s, n) {',
      "  return String(s).padStart(n, '.') + path.sep;",
      '};',
    ].join('\n'),
  );
}

/**
 * Imports the bundle in a plain `node` (vitest's module runner would lend it a `require` that the
 * platform's sandbox does not have) and prints what `call` returns for the module `mod`.
 */
async function runBundle(code: string, call: string): Promise<string> {
  const file = path.join(dir, `bundle-${Math.random().toString(36).slice(2)}.mjs`);
  await writeFile(file, code);
  const script = `const mod = await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(await (${call}));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: tmpdir() });
  return stdout.trimEnd();
}

describe('bundleFunctions', () => {
  it('bundles a TypeScript handler with a CommonJS npm dependency into a module that runs', async () => {
    await writeLeftpadLite();
    await write(
      'src/api.ts',
      [
        "import type { Context } from 'gust';",
        "import leftpad from 'leftpad-lite';",
        'export default async function (req: Request, _ctx: Context): Promise<Response> {',
        '  const n: number = Number(new URL(req.url).searchParams.get("n"));',
        '  return new Response(leftpad("x", n));',
        '}',
      ].join('\n'),
    );
    const result = await bundleFunctions(dir, [spec('api', 'src/api.ts')]);
    if (!result.ok) throw new Error(result.errors.join('\n'));
    const text = await runBundle(
      result.bundles.api!,
      "mod.default(new Request('http://x/?n=4'), {}).then((r) => r.text())",
    );
    expect(text).toBe(`...x${path.sep}`);
  });

  it('bundles several functions at once, keyed by function name', async () => {
    await write('a.mjs', 'export default () => "a";');
    await write('b.js', 'export async function handler() { return "b"; }');
    const result = await bundleFunctions(dir, [spec('a', 'a.mjs'), spec('b', 'b.js')]);
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(Object.keys(result.bundles).sort()).toEqual(['a', 'b']);
    expect(await runBundle(result.bundles.b!, 'mod.handler()')).toBe('b');
  });

  it('keeps a handler that defines its own top-level require working', async () => {
    await write(
      'own-require.mjs',
      [
        "import { createRequire } from 'node:module';",
        'const require = createRequire(import.meta.url);',
        "export default () => require('node:path').sep;",
      ].join('\n'),
    );
    const result = await bundleFunctions(dir, [spec('own', 'own-require.mjs')]);
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(await runBundle(result.bundles.own!, 'mod.default()')).toBe(path.sep);
  });

  it('accepts an inline type import of gust that survives type erasure', async () => {
    await write('tsconfig.json', JSON.stringify({ compilerOptions: { verbatimModuleSyntax: true } }));
    await write(
      'inline.ts',
      "import { type Context } from 'gust';\nexport default (_r: Request, ctx: Context) => ctx;",
    );
    const result = await bundleFunctions(dir, [spec('inline', 'inline.ts')]);
    expect(result).toMatchObject({ ok: true });
  });

  it('reports a syntax error with the function, file, line and column', async () => {
    await write('src/bad.ts', 'export default function () {\n  return 1 +;\n}\n');
    const result = await bundleFunctions(dir, [spec('bad', 'src/bad.ts')]);
    expect(result).toEqual({ ok: false, errors: ['functions.bad.handler: src/bad.ts:2:13: Unexpected ";"'] });
  });

  it('reports an import that cannot be resolved', async () => {
    await write('src/api.ts', 'import pad from "left-padd";\nexport default () => pad;\n');
    const result = await bundleFunctions(dir, [spec('api', 'src/api.ts')]);
    expect(result).toEqual({
      ok: false,
      errors: ['functions.api.handler: src/api.ts:1:17: Could not resolve "left-padd"'],
    });
  });

  it('says so when the handler file does not exist', async () => {
    const result = await bundleFunctions(dir, [spec('ghost', 'src/ghost.ts')]);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors).toEqual([
      'functions.ghost.handler: src/ghost.ts: file not found (the handler path is relative to gust.yaml)',
    ]);
  });

  it('refuses a handler that lacks the export the platform will call', async () => {
    await write('lib.ts', 'export const helper = 1;');
    const result = await bundleFunctions(dir, [spec('lib', 'lib.ts'), spec('named', 'lib.ts', 'main')]);
    expect(!result.ok && result.errors).toEqual([
      'functions.lib.handler: lib.ts: exports neither a default function nor `handler` (add one, or name it with PATH#EXPORT)',
      'functions.named.handler: lib.ts: has no export named "main"',
    ]);
  });

  it('lists the errors of every failing function, not just the first', async () => {
    await write('ok.ts', 'export default () => 1;');
    await write('bad.ts', 'export default (;');
    const result = await bundleFunctions(dir, [
      spec('ok', 'ok.ts'),
      spec('bad', 'bad.ts'),
      spec('gone', 'gone.ts'),
    ]);
    expect(!result.ok && result.errors.map((e) => e.split(':')[0])).toEqual([
      'functions.bad.handler',
      'functions.gone.handler',
    ]);
  });
});

/** What the bundled function `name` returns when called; the bundling errors, thrown. */
async function called(result: BundleResult, name: string): Promise<string> {
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return runBundle(result.bundles[name]!, 'mod.default()');
}

describe('Bundler (gust dev: bundles kept between saves)', () => {
  it('bundles again what changed: an imported file, then a new handler path; the old context is let go', async () => {
    await write('src/text.ts', 'export const text = "one";');
    await write('src/api.ts', 'import { text } from "./text";\nexport default () => text;');
    await write('src/other.ts', 'export default () => "other";');
    const bundler = new Bundler(dir);
    try {
      expect(await called(await bundler.bundle([spec('api', 'src/api.ts')]), 'api')).toBe('one');
      await write('src/text.ts', 'export const text = "two";');
      expect(await called(await bundler.bundle([spec('api', 'src/api.ts')]), 'api')).toBe('two');
      expect(await called(await bundler.bundle([spec('api', 'src/other.ts')]), 'api')).toBe('other');
    } finally {
      await bundler.dispose();
    }
  });

  it('told which files changed, bundles again only the functions that read one, unless a file no build read appears', async () => {
    await write('shared.mjs', 'export const text = "a1";');
    await write('a.mjs', 'import { text } from "./shared.mjs";\nexport default () => text;');
    await write('b.mjs', 'export default () => "b1";');
    const functions = [spec('a', 'a.mjs'), spec('b', 'b.mjs')];
    const bundler = new Bundler(dir);
    const answers = async (changed: string[]) => {
      const result = await bundler.bundle(functions, {
        changed: new Set(changed.map((f) => path.join(dir, f))),
      });
      return [await called(result, 'a'), await called(result, 'b')];
    };
    try {
      await bundler.bundle(functions);
      // both changed on disk, but only b.mjs said: a keeps its last bundle (so a was not bundled again)
      await write('shared.mjs', 'export const text = "a2";');
      await write('b.mjs', 'export default () => "b2";');
      expect(await answers(['b.mjs'])).toEqual(['a1', 'b2']);
      expect(await answers(['shared.mjs'])).toEqual(['a2', 'b2']);
      // an editor's temporary file, gone by now: it changes no build
      await write('shared.mjs', 'export const text = "a3";');
      expect(await answers(['.a.mjs.tmp'])).toEqual(['a2', 'b2']);
      // a file that exists and no build read (it may change how an import resolves): all again
      await write('README.md', 'notes');
      expect(await answers(['README.md'])).toEqual(['a3', 'b2']);
    } finally {
      await bundler.dispose();
    }
  });

  it('a syntax error saved, then fixed: the error, then the bundle again', async () => {
    const bundler = new Bundler(dir);
    try {
      await write('a.ts', 'export default () => (;');
      expect(await bundler.bundle([spec('a', 'a.ts')])).toMatchObject({ ok: false });
      await write('a.ts', 'export default () => "fixed";');
      expect(await called(await bundler.bundle([spec('a', 'a.ts')]), 'a')).toBe('fixed');
    } finally {
      await bundler.dispose();
    }
  });

  it('says after each function how many are done, of how many, and which', async () => {
    await write('a.mjs', 'export default () => 1;');
    await write('b.mjs', 'export default () => 2;');
    const seen: string[] = [];
    await bundleFunctions(
      dir,
      [spec('a', 'a.mjs'), spec('b', 'b.mjs'), spec('gone', 'gone.mjs')],
      (n, total, name) => seen.push(`${n}/${total} ${name}`),
    );
    expect(seen.map((s) => s.split(' ')[0])).toEqual(['1/3', '2/3', '3/3']);
    expect(seen.map((s) => s.split(' ')[1]).sort()).toEqual(['a', 'b', 'gone']);
  });
});

/** The source map at the end of a bundle, decoded. */
function inlineMap(code: string): { sources: string[]; sourcesContent?: (string | null)[] } {
  const at = code.lastIndexOf(INLINE_MAP_PREFIX);
  expect(at).toBeGreaterThan(0);
  return JSON.parse(Buffer.from(code.slice(at + INLINE_MAP_PREFIX.length), 'base64').toString('utf8')) as {
    sources: string[];
    sourcesContent?: (string | null)[];
  };
}

/** An index over `mappings`, as the sandbox builds it from a bundle. */
function indexOf(mappings: string, sources: string[]): SourceMapIndex {
  const map = Buffer.from(JSON.stringify({ version: 3, sources, names: [], mappings })).toString('base64');
  const index = SourceMapIndex.fromBundle(`\n${INLINE_MAP_PREFIX}${map}\n`);
  if (!index) throw new Error('the map did not read');
  return index;
}

describe('source maps', () => {
  it("a bundle carries its map inline: sources relative to the project, the author's text only, positions that find them", async () => {
    await writeLeftpadLite();
    await write(
      'src/api.ts',
      [
        "import leftpad from 'leftpad-lite';",
        'type Width = number;',
        'export default function (): string {',
        '  const width: Width = 8;',
        "  return leftpad('marker', width);",
        '}',
      ].join('\n'),
    );
    const result = await bundleFunctions(dir, [spec('api', 'src/api.ts')]);
    if (!result.ok) throw new Error(result.errors.join('\n'));
    const code = result.bundles.api!;
    const map = inlineMap(code);
    expect(map.sources).toEqual(expect.arrayContaining(['src/api.ts', 'node_modules/leftpad-lite/index.js']));
    // the author's file keeps its text (for a debugger), a dependency's has none
    const text = (source: string) => map.sourcesContent?.[map.sources.indexOf(source)];
    expect(text('src/api.ts')).toContain("return leftpad('marker', width);");
    expect(text('node_modules/leftpad-lite/index.js')).toBeNull();

    const lines = code.split('\n');
    const line = lines.findIndex((l) => l.includes("'marker'") || l.includes('"marker"'));
    const origin = SourceMapIndex.fromBundle(code)?.lookup(line + 1, lines[line]!.indexOf('marker') + 1);
    expect(origin).toEqual({ source: 'src/api.ts', line: 5, column: 18 });
    expect(await runBundle(code, 'mod.default()')).toBe(`..marker${path.sep}`);
  });

  it("thins a dependency's mappings to one per line, and every position keeps its file and line", async () => {
    await write(
      'node_modules/dense/index.js',
      [
        'module.exports = function dense(a, b) {',
        '  const c = a + b, d = a * b, e = [a, b, c, d].map((x) => x * 2).filter((x) => x > 1);',
        '  return e.length > 2 ? { c, d, e, sum: e.reduce((s, x) => s + x, 0) } : null;',
        '};',
      ].join('\n'),
    );
    await write(
      'src/own.ts',
      "import dense from 'dense';\nexport default () => [dense(1, 2), dense(3, 4)].map((r) => r?.sum);\n",
    );
    const out = await build({
      entryPoints: [path.join(dir, 'src/own.ts')],
      absWorkingDir: dir,
      outfile: path.join(dir, 'own.bundle.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      sourcemap: 'external',
      sourcesContent: false,
    });
    const full = JSON.parse(out.outputFiles.find((f) => f.path.endsWith('.map'))!.text) as {
      sources: string[];
      mappings: string;
    };
    const thin = thinMappings(full.mappings, full.sources);
    expect(thin.length).toBeLessThan(full.mappings.length * 0.8);

    const before = indexOf(full.mappings, full.sources);
    const after = indexOf(thin, full.sources);
    const code = out.outputFiles.find((f) => f.path.endsWith('.mjs'))!.text.split('\n');
    let compared = 0;
    code.forEach((text, i) => {
      for (let column = 1; column <= text.length; column++) {
        const was = before.lookup(i + 1, column);
        const is = after.lookup(i + 1, column);
        expect({ source: is?.source, line: is?.line }).toEqual({ source: was?.source, line: was?.line });
        if (was?.source === 'src/own.ts') expect(is?.column).toBe(was.column);
        if (was) compared++;
      }
    });
    expect(compared).toBeGreaterThan(200);
  });
});
