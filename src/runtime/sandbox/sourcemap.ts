/**
 * sourcemap: where a position in the bundle came from, from the bundle's source map: appended to
 * the bundle at build (build/sourcemap.ts), set beside it as `fn.mjs.map` in the instance's folder
 * (node/bundle-files.ts). Read only once an error is shown, never at load. Node's own
 * `--enable-source-maps` decodes every bundle's map at load and parses all its mappings at the
 * first stack: for a 1.4 MB bundle, its cold starts took about 20 ms longer and its first error
 * 60-100 ms (bench/README.md); here the cold start pays nothing, and the first error reads and
 * indexes the map once (25-55 ms for that bundle on a busy 2-core machine; 2 ms for a small one).
 */

/**
 * What precedes the inline map, at the start of the bundle's last line. Written in pieces: tools
 * that look for a source map comment in this very file (Node, vite) must not take it for one.
 */
export const INLINE_MAP_PREFIX = `//${'#'} sourceMappingURL=data:application/json;base64,`;
const INLINE_MAP = `\n${INLINE_MAP_PREFIX}`;
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGITS = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64.length; i++) DIGITS[BASE64.charCodeAt(i)] = i;
const COMMA = 44;
const SEMICOLON = 59;

/**
 * Reads the `mappings` of a source map one segment at a time. The format stores each value as the
 * difference to the one before; the reader's fields hold them added up. The generated column starts
 * again at 0 on each generated line (`nextLine`). A malformed text throws.
 */
export class MappingsReader {
  pos = 0;
  column = 0;
  source = 0;
  originalLine = 0;
  originalColumn = 0;
  name = 0;
  /** Values in the last segment: 1 (a generated column that maps to nothing), 4, or 5 (with a name). */
  fields = 0;

  constructor(readonly text: string) {}

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  /** At the `;` that ends a generated line, or at the end. */
  get lineEnd(): boolean {
    return this.done || this.text.charCodeAt(this.pos) === SEMICOLON;
  }

  nextLine(): void {
    this.pos++;
    this.column = 0;
  }

  /** The next segment of this line (call while !lineEnd). */
  segment(): void {
    if (this.text.charCodeAt(this.pos) === COMMA) this.pos++;
    this.column += this.vlq();
    this.fields = 1;
    if (this.segmentEnd()) return;
    this.source += this.vlq();
    this.originalLine += this.vlq();
    this.originalColumn += this.vlq();
    this.fields = 4;
    if (this.segmentEnd()) return;
    this.name += this.vlq();
    this.fields = 5;
    if (!this.segmentEnd()) throw new Error('a source map segment with more than 5 values');
  }

  private segmentEnd(): boolean {
    const c = this.text.charCodeAt(this.pos);
    return this.done || c === COMMA || c === SEMICOLON;
  }

  private vlq(): number {
    let value = 0;
    for (let shift = 0; shift <= 30; shift += 5) {
      const digit = DIGITS[this.text.charCodeAt(this.pos++)] ?? -1;
      if (digit < 0) throw new Error('not a base64 VLQ digit in the source map');
      value += (digit & 31) * 2 ** shift;
      if ((digit & 32) === 0) return value % 2 === 1 ? -(value - 1) / 2 : value / 2;
    }
    throw new Error('a source map value too large');
  }
}

/** A position in the author's sources; line and column count from 1, as editors and stacks do. */
export interface Origin {
  readonly source: string;
  readonly line: number;
  readonly column: number;
}

/**
 * The start of each generated line (where its segments begin in `mappings`, and the values added
 * up so far), found in one pass: a lookup then reads one line only.
 */
export class SourceMapIndex {
  private constructor(
    private readonly sources: readonly string[],
    private readonly mappings: string,
    /** Per generated line: position in mappings, source, original line, original column. */
    private readonly starts: Int32Array,
  ) {}

  /** The index of the map inlined at the end of `code`; undefined when it has none, or a broken one. */
  static fromBundle(code: string): SourceMapIndex | undefined {
    const at = code.lastIndexOf(INLINE_MAP);
    if (at < 0) return undefined;
    const end = code.indexOf('\n', at + INLINE_MAP.length);
    const base64 = code.slice(at + INLINE_MAP.length, end < 0 ? code.length : end);
    return SourceMapIndex.fromJson(Buffer.from(base64, 'base64').toString('utf8'));
  }

  /** The index of a source map's JSON text; undefined when it is broken. */
  static fromJson(json: string): SourceMapIndex | undefined {
    try {
      const map = JSON.parse(json) as unknown;
      if (typeof map !== 'object' || map === null) return undefined;
      const { sources, mappings, sourceRoot } = map as Record<string, unknown>;
      if (!Array.isArray(sources) || !sources.every((s) => typeof s === 'string')) return undefined;
      if (typeof mappings !== 'string') return undefined;
      const root = typeof sourceRoot === 'string' ? sourceRoot : '';
      return new SourceMapIndex(
        sources.map((s) => root + s),
        mappings,
        lineStarts(mappings),
      );
    } catch {
      return undefined;
    }
  }

  /** Where the bundle's `line`:`column` (from 1) came from: the last segment at or before it. */
  lookup(line: number, column: number): Origin | undefined {
    const i = (line - 1) * 4;
    if (line < 1 || i >= this.starts.length) return undefined;
    const r = new MappingsReader(this.mappings);
    r.pos = this.starts[i]!;
    r.source = this.starts[i + 1]!;
    r.originalLine = this.starts[i + 2]!;
    r.originalColumn = this.starts[i + 3]!;
    let found: Origin | undefined;
    try {
      while (!r.lineEnd) {
        r.segment();
        if (r.column > column - 1) break;
        const source = r.fields >= 4 ? this.sources[r.source] : undefined;
        found =
          source === undefined
            ? undefined
            : { source, line: r.originalLine + 1, column: r.originalColumn + 1 };
      }
    } catch {
      return undefined;
    }
    return found;
  }
}

/**
 * One pass over every value of the mappings, in one loop: it runs once, in a fresh process, before
 * the JIT has warmed to anything, where a call per value made the first error of a 1.4 MB bundle
 * take about 80 ms instead of 10.
 */
function lineStarts(mappings: string): Int32Array {
  let starts = new Int32Array(4 * 1024);
  let used = 4; // line 0 starts at 0 with everything at 0
  let source = 0;
  let originalLine = 0;
  let originalColumn = 0;
  let field = 0;
  let value = 0;
  let shift = 0;
  for (let i = 0; i < mappings.length; i++) {
    const c = mappings.charCodeAt(i);
    if (c === SEMICOLON || c === COMMA) {
      if (shift !== 0) throw new Error('a source map value cut short');
      field = 0;
      if (c === COMMA) continue;
      if (used + 4 > starts.length) {
        const grown = new Int32Array(starts.length * 2);
        grown.set(starts);
        starts = grown;
      }
      starts[used] = i + 1;
      starts[used + 1] = source;
      starts[used + 2] = originalLine;
      starts[used + 3] = originalColumn;
      used += 4;
      continue;
    }
    const digit = c < 128 ? DIGITS[c]! : -1;
    if (digit < 0 || shift > 25) throw new Error('not a base64 VLQ value in the source map');
    value += (digit & 31) << shift;
    if ((digit & 32) !== 0) {
      shift += 5;
      continue;
    }
    const delta = (value & 1) === 1 ? -(value >>> 1) : value >>> 1;
    if (field === 1) source += delta;
    else if (field === 2) originalLine += delta;
    else if (field === 3) originalColumn += delta;
    field++;
    value = 0;
    shift = 0;
  }
  return starts.subarray(0, used);
}
