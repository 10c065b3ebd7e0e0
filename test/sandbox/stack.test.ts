/**
 * The stacks an instance sends out, cleaned (src/runtime/sandbox/stack.ts) from the text V8 writes:
 * a real bundle with its inline map on disk, frames as V8 prints them for an ES module.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleFunctions } from '../../src/build/bundle.js';
import type { FunctionSpec } from '../../src/manifest/types.js';
import { INLINE_MAP_PREFIX, SourceMapIndex } from '../../src/runtime/sandbox/sourcemap.js';
import { cleanStack, cleanText, setBundle } from '../../src/runtime/sandbox/stack.js';
import { ROOT, tempDir } from '../helpers/gust.js';
import { testSpec } from '../helpers/spec.js';

const RUNTIME = pathToFileURL(path.join(ROOT, 'src', 'runtime', 'sandbox')).href;

const PRICE = `interface Sku {
  readonly code: string;
}

function lookUp(sku: Sku): number {
  throw new Error(\`no price for \${sku.code}\`);
}

export default async function (): Promise<Response> {
  return Response.json({ price: lookUp({ code: 'A-1' }) });
}
`;

/** Frames of the runtime, then of Node, below a handler that threw while running synchronously. */
const BELOW_SYNC = [
  `    at run (${RUNTIME}/main.js:65:27)`,
  `    at ${RUNTIME}/main.js:128:34`,
  `    at runWithLogs (${RUNTIME}/logs.js:58:12)`,
  `    at process.<anonymous> (${RUNTIME}/main.js:148:9)`,
  '    at process.emit (node:events:524:28)',
  '    at emit (node:internal/child_process:950:14)',
];

let cellDir: string;
let bundle: string;
let code: string;
/** `file://…/fn.mjs:LINE:COLUMN` of the `new` in the bundle's `throw new Error`. */
let thrown: string;

function spec(name: string, handler: string): FunctionSpec {
  return testSpec(name, { handler: { path: handler } });
}

beforeAll(async () => {
  const project = await tempDir('gust-stack-project-');
  await mkdir(path.join(project, 'src'));
  await writeFile(path.join(project, 'src', 'price.ts'), PRICE);
  const built = await bundleFunctions(project, [spec('price', 'src/price.ts')]);
  if (!built.ok) throw new Error(built.errors.join('\n'));
  code = built.bundles.price!;
  cellDir = path.join(await tempDir('gust-stack-run-'), 'cells', 'i-1');
  await mkdir(cellDir, { recursive: true });
  bundle = path.join(cellDir, 'fn.mjs');
  await writeFile(bundle, code);
  const lines = code.split('\n');
  const line = lines.findIndex((l) => l.includes('throw new Error'));
  thrown = `${pathToFileURL(bundle).href}:${line + 1}:${lines[line]!.indexOf('new') + 1}`;
});

describe('cleanStack', () => {
  it("maps the bundle's frames to the author's file and line, and drops the runtime's frames with Node's below them", () => {
    setBundle(bundle);
    const stack = ['Error: no price for A-1', `    at lookUp (${thrown})`, ...BELOW_SYNC].join('\n');
    expect(cleanStack(stack)).toBe('Error: no price for A-1\n    at lookUp (src/price.ts:6:9)');
  });

  it('keeps the frames of Node that the function called itself', () => {
    setBundle(bundle);
    const stack = [
      'SyntaxError: Unexpected token',
      '    at JSON.parse (<anonymous>)',
      `    at lookUp (${thrown})`,
      '    at listOnTimeout (node:internal/timers:581:17)',
      '    at process.processTimers (node:internal/timers:519:7)',
    ].join('\n');
    expect(cleanStack(stack).split('\n')).toEqual([
      'SyntaxError: Unexpected token',
      '    at JSON.parse (<anonymous>)',
      '    at lookUp (src/price.ts:6:9)',
      '    at listOnTimeout (node:internal/timers:581:17)',
      '    at process.processTimers (node:internal/timers:519:7)',
    ]);
  });

  it("keeps a module's top-level frame, without the module loader's frames through which the runtime loaded it", () => {
    setBundle(bundle);
    const stack = [
      'Error: no database at startup',
      `    at ${thrown}`,
      '    at ModuleJob.run (node:internal/modules/esm/module_job:325:25)',
      '    at async ModuleLoader.import (node:internal/modules/esm/loader:606:24)',
      `    at async load (${RUNTIME}/main.js:48:22)`,
    ].join('\n');
    expect(cleanStack(stack)).toBe('Error: no database at startup\n    at src/price.ts:6:9');
  });

  it("leaves nothing but the message when every frame is the runtime's", () => {
    setBundle(bundle);
    const stack = ['TypeError: a web-standard handler must return a Response', ...BELOW_SYNC].join('\n');
    expect(cleanStack(stack)).toBe('TypeError: a web-standard handler must return a Response');
  });

  it("names a position of a bundle without a map relative to the instance's folder", async () => {
    const bare = path.join(cellDir, 'bare', 'fn.mjs');
    await mkdir(path.dirname(bare), { recursive: true });
    await writeFile(bare, 'export default () => { throw new Error("x"); };\n');
    setBundle(bare);
    const stack = `Error: x\n    at default (${pathToFileURL(bare).href}:1:30)\n${BELOW_SYNC.join('\n')}`;
    expect(cleanStack(stack)).toBe('Error: x\n    at default (fn.mjs:1:30)');
  });

  it('cuts a long message in the stack, so that its frames survive the cap on what an instance sends', () => {
    setBundle(bundle);
    const message = 'x'.repeat(100_000);
    const cleaned = cleanStack(`Error: ${message}\n    at lookUp (${thrown})`);
    expect(cleaned.length).toBeLessThan(3000);
    expect(cleaned).toMatch(/x…\n {4}at lookUp \(src\/price\.ts:6:9\)$/);
  });

  it("makes paths of the instance's folder in a message relative", () => {
    setBundle(bundle);
    const stack = `Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'sharp' imported from ${bundle}`;
    expect(cleanStack(stack)).toBe(
      "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'sharp' imported from fn.mjs",
    );
  });
});

describe('cleanText', () => {
  it('returns text without a path of the instance as it is', () => {
    setBundle(bundle);
    const text = 'order 42 priced\n    at the counter (see: 3:4)';
    expect(cleanText(text)).toBe(text);
  });

  it('cleans a stack the function printed among other lines', () => {
    setBundle(bundle);
    const printed = `could not price: Error: no price for A-1\n    at lookUp (${thrown})\n${BELOW_SYNC.join('\n')}`;
    expect(cleanText(printed)).toBe(
      'could not price: Error: no price for A-1\n    at lookUp (src/price.ts:6:9)',
    );
  });
});

describe('SourceMapIndex', () => {
  it('finds nothing outside the bundle, and nothing in a map that is broken', () => {
    const index = SourceMapIndex.fromBundle(code);
    expect(index?.lookup(0, 1)).toBeUndefined();
    expect(index?.lookup(1_000_000, 1)).toBeUndefined();
    const broken = `export {};\n${INLINE_MAP_PREFIX}${Buffer.from(
      JSON.stringify({ version: 3, sources: ['a.ts'], mappings: 'AAAA,!!!;' }),
    ).toString('base64')}\n`;
    expect(SourceMapIndex.fromBundle(broken)?.lookup(1, 1)).toBeUndefined();
    expect(SourceMapIndex.fromBundle(`export {};\n${INLINE_MAP_PREFIX}{{{`)).toBe(undefined);
  });
});
