/**
 * stack: error stacks as the function's author reads them. Frames in the bundle are mapped to the
 * author's files (sourcemap.ts), other paths of the instance's folders are made relative to the
 * project (`src/price.ts:4:9`, not `/tmp/gust-run-…/cells/i-…/fn.mjs:7:9`, which tells platform
 * internals and changes with every instance), and the frames of this runtime, with the frames of
 * Node through which it called the function, are dropped.
 * This is done here, inside the instance, on what leaves it (errors, and what the function prints):
 * only the sandbox knows for sure which folders and frames are its own, and it holds the bundle
 * with its map. The host treats the result as text of the function's (a function can set
 * `err.stack` to anything) and only bounds its size (node/wire.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SourceMapIndex } from './sourcemap.js';

/** `    at NAME (LOCATION:LINE:COLUMN)` or `    at LOCATION:LINE:COLUMN`. */
const LOCATED = /^(\s+at (?:.*? \()?)(.+?):(\d+):(\d+)(\)?)$/;
const FRAME = /^\s+at /;
/** The text before the frames repeats the message, which the record has whole: past this it is cut. */
const HEAD_LIMIT = 2048;
/** No frame V8 writes is longer; a longer line that starts like one is not parsed (nor backtracked over). */
const FRAME_LIMIT = 4096;

type Kind = 'runtime' | 'node' | 'function';

interface Places {
  readonly runtimeDir: string;
  /** The loaded bundle (absent in a cell that has not taken a function). */
  readonly bundle?: string;
  readonly cellDir?: string;
}

let places: Places = { runtimeDir: path.dirname(fileURLToPath(import.meta.url)) };
/** The bundle's source map: undefined until first needed, null when it has none. */
let map: SourceMapIndex | null | undefined;

/** The function's bundle, known once `load` arrives. */
export function setBundle(bundle: string): void {
  places = { runtimeDir: places.runtimeDir, bundle, cellDir: path.dirname(bundle) };
  map = undefined;
}

/** An error's stack, cleaned. */
export function cleanStack(stack: string): string {
  const lines = stack.split('\n');
  const first = lines.findIndex((l) => FRAME.test(l));
  let head = first < 0 ? stack : lines.slice(0, first).join('\n');
  if (head.length > HEAD_LIMIT) head = `${head.slice(0, HEAD_LIMIT)}…`;
  const frames = first < 0 ? '' : clean(lines.slice(first).join('\n'));
  return frames === '' ? cleanPaths(head) : `${cleanPaths(head)}\n${frames}`;
}

/**
 * Text that may hold a stack or a path of the instance (what the function prints, as a line of
 * console.error(err), or an error message), cleaned; other text is returned as it is, at the cost
 * of two substring searches.
 */
export function cleanText(text: string): string {
  const { runtimeDir, cellDir } = places;
  if (!text.includes(runtimeDir) && (cellDir === undefined || !text.includes(cellDir))) return text;
  return clean(text);
}

/** Each run of frame lines cleaned, the lines around them with their paths made relative. */
function clean(text: string): string {
  const out: string[] = [];
  let frames: string[] = [];
  const flush = () => {
    if (frames.length > 0) out.push(...cleanFrames(frames));
    frames = [];
  };
  for (const line of text.split('\n')) {
    if (FRAME.test(line)) frames.push(line);
    else {
      flush();
      out.push(cleanPaths(line));
    }
  }
  flush();
  return out.join('\n');
}

/**
 * The runtime's frames go, and so does the bottom of the stack when it is only the runtime's and
 * Node's (how the runtime got to the function: its message handler, the module loader); Node's
 * frames elsewhere (JSON.parse, a timer) are the function's own calls and stay.
 */
function cleanFrames(lines: readonly string[]): string[] {
  const frames = lines.map(frame);
  let end = frames.length;
  while (end > 0 && frames[end - 1]!.kind !== 'function') end--;
  if (!frames.slice(end).some((f) => f.kind === 'runtime')) end = frames.length;
  return frames
    .slice(0, end)
    .filter((f) => f.kind !== 'runtime')
    .map((f) => f.text);
}

function frame(line: string): { kind: Kind; text: string } {
  const m = line.length > FRAME_LIMIT ? null : LOCATED.exec(line);
  if (!m) return { kind: 'function', text: line };
  const [, before = '', location = '', lineNo = '', column = '', after = ''] = m;
  if (location.startsWith('node:')) return { kind: 'node', text: line };
  const file = filePath(location);
  if (file === undefined) return { kind: 'function', text: line };
  if (file.startsWith(places.runtimeDir + path.sep)) return { kind: 'runtime', text: line };
  const where =
    file === places.bundle ? mapped(Number(lineNo), Number(column)) : `${relative(file)}:${lineNo}:${column}`;
  return { kind: 'function', text: `${before}${where}${after}` };
}

/** A bundle position as the author's `file:line:column`; as the bundle's own when the map says nothing. */
function mapped(line: number, column: number): string {
  map ??= readMap() ?? null;
  const origin = map?.lookup(line, column);
  return origin ? `${origin.source}:${origin.line}:${origin.column}` : `fn.mjs:${line}:${column}`;
}

/** The map beside the bundle (the platform splits it off, node/bundle-files.ts), else the one in it. */
function readMap(): SourceMapIndex | undefined {
  const { bundle } = places;
  if (bundle === undefined) return undefined;
  try {
    return SourceMapIndex.fromJson(readFileSync(`${bundle}.map`, 'utf8'));
  } catch {
    try {
      return SourceMapIndex.fromBundle(readFileSync(bundle, 'utf8'));
    } catch {
      return undefined;
    }
  }
}

/** A frame's location as a file path (ES modules show file URLs); undefined when it is not a file. */
function filePath(location: string): string | undefined {
  if (location.startsWith('file://')) {
    try {
      return fileURLToPath(location);
    } catch {
      return undefined;
    }
  }
  return path.isAbsolute(location) ? location : undefined;
}

/** Paths in the instance's folder, relative to it: where the bundle stands for the project. */
function relative(file: string): string {
  const { cellDir } = places;
  return cellDir !== undefined && file.startsWith(cellDir + path.sep) ? path.relative(cellDir, file) : file;
}

/** Paths of the instance's folder in a message (`Cannot find package 'x' imported from …/fn.mjs`). */
function cleanPaths(text: string): string {
  const { cellDir } = places;
  if (cellDir === undefined || !text.includes(cellDir)) return text;
  const url = `file://${cellDir}${path.sep}`;
  return text.replaceAll(url, '').replaceAll(`${cellDir}${path.sep}`, '');
}
