/**
 * bundle: each handler becomes one self-contained ES module (esbuild), the unit a deploy uploads.
 * npm dependencies resolve from the project's own node_modules; node builtins stay external. The
 * source map rides at the end of the bundle (sourcemap.ts), so error stacks name the author's files.
 * One path for a single deploy and for `gust dev`'s rebuilds: a `Bundler` keeps an esbuild context
 * per handler, which `bundleFunctions` makes, uses once and disposes of.
 */
import path from 'node:path';
import { type BuildContext, type BuildOptions, context, type Message, type Plugin } from 'esbuild';
import { isFile } from '../lib/files.js';
import type { FunctionSpec } from '../manifest/types.js';
import { inlineSourceMap } from './sourcemap.js';

export type BundleResult = { ok: true; bundles: Record<string, string> } | { ok: false; errors: string[] };

type OneBundle = { ok: true; code: string } | { ok: false; errors: string[] };

/**
 * Bundled CommonJS dependencies call `require('fs')`; an ES module has no `require`, so the
 * bundle defines one. esbuild renames a handler's own top-level `require` out of the way.
 */
const REQUIRE_BANNER =
  "import { createRequire as __gustCreateRequire } from 'node:module';\n" +
  'const require = __gustCreateRequire(import.meta.url);';

/**
 * What `import { NonRetriableError } from 'gust'` gives a bundled handler: the platform tells a
 * non-retriable failure by the error's name, so the class need not be the platform's own.
 */
const GUST_RUNTIME_EXPORTS =
  "export class NonRetriableError extends Error { constructor(message, options) { super(message, options); this.name = 'NonRetriableError'; } }";

/**
 * `gust` is a types-only package for handlers (`import type { Context } from 'gust'`). An import
 * that survives type erasure (`import { type Context }` under verbatimModuleSyntax) must not pull
 * the platform into the bundle, so it resolves to an empty module.
 */
const gustTypesOnly: Plugin = {
  name: 'gust-types-only',
  setup(b) {
    b.onResolve({ filter: /^gust$/ }, () => ({ path: 'gust', namespace: 'gust-types-only' }));
    b.onLoad({ filter: /.*/, namespace: 'gust-types-only' }, () => ({
      contents: GUST_RUNTIME_EXPORTS,
      loader: 'js',
    }));
  },
};

/** After each function is bundled (or failed): how many are done, of how many, and which. */
export type BundleProgress = (done: number, total: number, name: string) => void;

/** Bundles every function in parallel once; all errors of all functions are reported together. */
export async function bundleFunctions(
  dir: string,
  functions: readonly FunctionSpec[],
  onBundled?: BundleProgress,
): Promise<BundleResult> {
  const bundler = new Bundler(dir);
  try {
    return await bundler.bundle(functions, onBundled);
  } finally {
    await bundler.dispose();
  }
}

/**
 * Bundles a project's functions again and again (`gust dev`): each handler keeps an esbuild
 * context, whose rebuild parses again only the files that changed. A function whose handler file
 * changes, or that leaves the manifest, has its context disposed.
 */
export class Bundler {
  private readonly root: string;
  /** By function name, with the entry file its context was made for. */
  private readonly contexts = new Map<string, { entry: string; context: Promise<BuildContext> }>();

  constructor(dir: string) {
    this.root = path.resolve(dir);
  }

  async bundle(functions: readonly FunctionSpec[], onBundled?: BundleProgress): Promise<BundleResult> {
    const names = new Set(functions.map((fn) => fn.name));
    for (const name of [...this.contexts.keys()].filter((n) => !names.has(n))) await this.drop(name);
    let done = 0;
    const results = await Promise.all(
      functions.map(async (fn) => {
        const result = await this.bundleOne(fn);
        onBundled?.(++done, functions.length, fn.name);
        return result;
      }),
    );
    const bundles: Record<string, string> = {};
    const errors: string[] = [];
    results.forEach((result, i) => {
      const name = functions[i]!.name;
      if (result.ok) bundles[name] = result.code;
      else errors.push(...result.errors);
    });
    return errors.length > 0 ? { ok: false, errors } : { ok: true, bundles };
  }

  async dispose(): Promise<void> {
    for (const name of [...this.contexts.keys()]) await this.drop(name);
  }

  private async drop(name: string): Promise<void> {
    const held = this.contexts.get(name);
    this.contexts.delete(name);
    await (await held?.context)?.dispose();
  }

  private async contextFor(fn: FunctionSpec, entry: string): Promise<BuildContext> {
    const held = this.contexts.get(fn.name);
    if (held?.entry === entry) return held.context;
    await this.drop(fn.name);
    const made = context(buildOptions(this.root, fn.name, entry));
    this.contexts.set(fn.name, { entry, context: made });
    return made;
  }

  private async bundleOne(fn: FunctionSpec): Promise<OneBundle> {
    const where = `functions.${fn.name}.handler`;
    const file = fn.handler.path;
    const entry = path.resolve(this.root, file);
    if (!(await isFile(entry))) {
      return {
        ok: false,
        errors: [`${where}: ${file}: file not found (the handler path is relative to gust.yaml)`],
      };
    }
    try {
      const out = await (await this.contextFor(fn, entry)).rebuild();
      const code = out.outputFiles?.find((f) => f.path.endsWith('.mjs'))?.text;
      const map = out.outputFiles?.find((f) => f.path.endsWith('.map'))?.text;
      if (code === undefined || map === undefined)
        return { ok: false, errors: [`${where}: ${file}: esbuild produced no output`] };
      const exports =
        Object.values(out.metafile?.outputs ?? {}).find((o) => o.entryPoint !== undefined)?.exports ?? [];
      const missing = missingExport(fn, exports);
      return missing === undefined
        ? { ok: true, code: inlineSourceMap(code, map) }
        : { ok: false, errors: [`${where}: ${file}: ${missing}`] };
    } catch (e) {
      const messages = esbuildErrors(e);
      if (messages === undefined) throw e;
      return { ok: false, errors: messages.map((m) => `${where}: ${formatMessage(m, file)}`) };
    }
  }
}

function buildOptions(root: string, name: string, entry: string): BuildOptions {
  return {
    entryPoints: [entry],
    absWorkingDir: root,
    outfile: path.join(root, `${name}.bundle.mjs`),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    // Sources are named relative to the outfile's folder: the project's, as its author knows them.
    sourcemap: 'external',
    sourcesContent: false,
    metafile: true,
    logLevel: 'silent',
    banner: { js: REQUIRE_BANNER },
    plugins: [gustTypesOnly],
  };
}

/** The handler the platform will call must exist: the named export, else `default` or `handler`. */
function missingExport(fn: FunctionSpec, exports: readonly string[]): string | undefined {
  const wanted = fn.handler.export;
  if (wanted !== undefined) {
    return exports.includes(wanted) ? undefined : `has no export named "${wanted}"`;
  }
  if (exports.includes('default') || exports.includes('handler')) return undefined;
  return 'exports neither a default function nor `handler` (add one, or name it with PATH#EXPORT)';
}

/** `src/api.ts:3:18: Could not resolve "x"`, line and column 1-based as editors and tsc count them. */
function formatMessage(m: Message, entryFile: string): string {
  const loc = m.location;
  if (loc === null) return `${entryFile}: ${m.text}`;
  return `${loc.file}:${loc.line}:${loc.column + 1}: ${m.text}`;
}

function esbuildErrors(e: unknown): Message[] | undefined {
  if (typeof e !== 'object' || e === null || !('errors' in e) || !Array.isArray(e.errors)) return undefined;
  return e.errors as Message[];
}
