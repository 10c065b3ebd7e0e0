/**
 * bundle: each handler becomes one self-contained ES module (esbuild), the unit a deploy uploads.
 * npm dependencies resolve from the project's own node_modules; node builtins stay external. The
 * source map rides at the end of the bundle (sourcemap.ts), so error stacks name the author's files.
 * One path for a single deploy and for `gust dev`'s rebuilds: a `Bundler` keeps an esbuild context
 * per handler, which `bundleFunctions` makes, uses once and disposes of.
 */
import path from 'node:path';
import { type BuildContext, type BuildOptions, context, type Message, type Plugin } from 'esbuild';
import { exists, isFile } from '../lib/files.js';
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
    return await bundler.bundle(functions, onBundled === undefined ? {} : { onBundled });
  } finally {
    await bundler.dispose();
  }
}

/**
 * Bundles a project's functions again and again (`gust dev`): each handler keeps an esbuild
 * context, whose rebuild parses again only the files that changed. Told which files changed, it
 * bundles again only the functions that read one of them (their inputs, from esbuild's metafile),
 * and keeps the last bundle of the others: a save of one handler then costs that handler's build
 * alone, not that of every function of the project. A function whose handler file changes, or
 * that leaves the manifest, has its context disposed.
 */
export class Bundler {
  private readonly root: string;
  /** By function name: the entry file its context was made for, and its last good build. */
  private readonly held = new Map<string, Held>();

  constructor(dir: string) {
    this.root = path.resolve(dir);
  }

  /**
   * `changed`: the files (absolute paths) changed since the last call; without it, every function
   * is bundled again. A changed file that exists and that no function read (a new file, gust.yaml,
   * a tsconfig.json) may change how imports resolve: every function is bundled again then.
   */
  async bundle(
    functions: readonly FunctionSpec[],
    options: { onBundled?: BundleProgress; changed?: ReadonlySet<string> } = {},
  ): Promise<BundleResult> {
    const names = new Set(functions.map((fn) => fn.name));
    for (const name of [...this.held.keys()].filter((n) => !names.has(n))) await this.drop(name);
    const changed = (await this.readByNone(options.changed)) ? undefined : options.changed;
    let done = 0;
    const results = await Promise.all(
      functions.map(async (fn) => {
        const result = await this.bundleOne(fn, changed);
        options.onBundled?.(++done, functions.length, fn.name);
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
    for (const name of [...this.held.keys()]) await this.drop(name);
  }

  /** Whether one of the changed files exists and is no function's input (or nothing says what changed). */
  private async readByNone(changed: ReadonlySet<string> | undefined): Promise<boolean> {
    if (changed === undefined) return true;
    const unread = [...changed].filter(
      (file) => ![...this.held.values()].some((h) => h.last?.inputs.has(file)),
    );
    // one gone (an editor's temporary file, renamed or deleted) was read by no build: it changes none
    return (await Promise.all(unread.map((file) => exists(file)))).some(Boolean);
  }

  private async drop(name: string): Promise<void> {
    const held = this.held.get(name);
    this.held.delete(name);
    await (await held?.context)?.dispose();
  }

  private async heldFor(fn: FunctionSpec, entry: string): Promise<Held> {
    const held = this.held.get(fn.name);
    if (held?.entry === entry) return held;
    await this.drop(fn.name);
    const made: Held = { entry, context: context(buildOptions(this.root, fn.name, entry)) };
    this.held.set(fn.name, made);
    return made;
  }

  private async bundleOne(fn: FunctionSpec, changed: ReadonlySet<string> | undefined): Promise<OneBundle> {
    const where = `functions.${fn.name}.handler`;
    const file = fn.handler.path;
    const entry = path.resolve(this.root, file);
    if (!(await isFile(entry))) {
      return {
        ok: false,
        errors: [`${where}: ${file}: file not found (the handler path is relative to gust.yaml)`],
      };
    }
    const held = await this.heldFor(fn, entry);
    const last = held.last;
    if (changed !== undefined && last !== undefined && ![...changed].some((f) => last.inputs.has(f))) {
      return checkExport(fn, last);
    }
    held.last = undefined;
    try {
      const out = await (await held.context).rebuild();
      const code = out.outputFiles?.find((f) => f.path.endsWith('.mjs'))?.text;
      const map = out.outputFiles?.find((f) => f.path.endsWith('.map'))?.text;
      if (code === undefined || map === undefined || out.metafile === undefined)
        return { ok: false, errors: [`${where}: ${file}: esbuild produced no output`] };
      held.last = {
        code: inlineSourceMap(code, map),
        exports: Object.values(out.metafile.outputs).find((o) => o.entryPoint !== undefined)?.exports ?? [],
        inputs: new Set(Object.keys(out.metafile.inputs).map((input) => path.resolve(this.root, input))),
      };
      return checkExport(fn, held.last);
    } catch (e) {
      const messages = esbuildErrors(e);
      if (messages === undefined) throw e;
      return { ok: false, errors: messages.map((m) => `${where}: ${formatMessage(m, file)}`) };
    }
  }
}

interface Held {
  readonly entry: string;
  readonly context: Promise<BuildContext>;
  /** The last build that succeeded: its bundle, its exports, the files it read. */
  last?:
    | { readonly code: string; readonly exports: readonly string[]; readonly inputs: ReadonlySet<string> }
    | undefined;
}

/** The bundle, if it has the export the platform will call (gust.yaml may name another since). */
function checkExport(fn: FunctionSpec, built: NonNullable<Held['last']>): OneBundle {
  const missing = missingExport(fn, built.exports);
  return missing === undefined
    ? { ok: true, code: built.code }
    : { ok: false, errors: [`functions.${fn.name}.handler: ${fn.handler.path}: ${missing}`] };
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
    sourcesContent: true, // kept for the author's files only (sourcemap.ts)
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
