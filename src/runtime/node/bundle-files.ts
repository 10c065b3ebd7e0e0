/**
 * bundle-files: a deployed bundle as instances get it, made once per bundle in the run folder (the
 * cells' file system, so that each cold start hard-links it in an instant, wherever the data folder
 * is), with its inline source map split off into a file beside it. V8 then compiles only the code
 * at each cold start: left inline, the map made a 1.4 MB bundle's cold start about 5 ms (20%) more
 * CPU (bench/README.md). The instance reads the map at its first error (sandbox/stack.ts).
 */
import { chmod, link, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { INLINE_MAP_PREFIX } from '../sandbox/sourcemap.js';

export interface BundleFiles {
  readonly code: string;
  /** The source map (JSON), when the bundle had one. */
  readonly map?: string;
}

const MARK = Buffer.from(`\n${INLINE_MAP_PREFIX}`);

/** Writes the bundle's code, and its map if it has one, into `dir`. */
export async function prepareBundle(bundlePath: string, dir: string): Promise<BundleFiles> {
  const bytes = await readFile(bundlePath);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const code = path.join(dir, path.basename(bundlePath));
  const at = bytes.lastIndexOf(MARK);
  if (at < 0) {
    await writeWhole(code, bytes);
    return { code };
  }
  const base64 = bytes
    .subarray(at + MARK.length)
    .toString('latin1')
    .trim();
  await writeWhole(code, bytes.subarray(0, at + 1));
  await writeWhole(`${code}.map`, Buffer.from(base64, 'base64'));
  return { code, map: `${code}.map` };
}

/** The files into the cell's folder, the only place besides the runtime that the cell may read. */
export async function placeBundle(files: BundleFiles, cellDir: string): Promise<string> {
  const bundle = path.join(cellDir, 'fn.mjs');
  await linkOrCopy(files.code, bundle);
  // Without its map an instance still runs; its stacks then name bundle lines.
  if (files.map !== undefined) await linkOrCopy(files.map, `${bundle}.map`).catch(() => {});
  return bundle;
}

/**
 * For an instance under the debugger: its own copy of the code, ending with its map as a data URL,
 * as the debugger reads it (Debugger.scriptParsed's sourceMapURL) to show the author's files; the
 * map beside it stays, for stacks. `sourceRoot` (a file URL) is where those files are on the
 * debugger's side. Only this instance pays to decode the map.
 */
export async function placeInspectedBundle(
  files: BundleFiles,
  cellDir: string,
  sourceRoot: string | undefined,
): Promise<string> {
  if (files.map === undefined) return placeBundle(files, cellDir);
  const bundle = path.join(cellDir, 'fn.mjs');
  await linkOrCopy(files.map, `${bundle}.map`);
  const map = JSON.parse(await readFile(files.map, 'utf8')) as Record<string, unknown>;
  if (sourceRoot !== undefined) map.sourceRoot = sourceRoot;
  const data = Buffer.from(JSON.stringify(map)).toString('base64');
  const code = await readFile(files.code);
  await writeWhole(bundle, Buffer.concat([code, Buffer.from(`${INLINE_MAP_PREFIX}${data}\n`)]));
  return bundle;
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  await link(from, to).catch(async () => writeWhole(to, await readFile(from)));
}

/** Under a temporary name, then renamed: a cold start that links it meanwhile never sees half of it. */
async function writeWhole(file: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, bytes, { mode: 0o644 });
  await chmod(tmp, 0o644); // whatever the umask: the instance user reads it
  await rename(tmp, file);
}
