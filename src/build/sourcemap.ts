/**
 * sourcemap (build side): the bundle's source map, appended to the bundle; the sandbox reads it
 * when an error is shown (runtime/sandbox/sourcemap.ts). Inline rather than a file beside it: the
 * map then travels inside the one bundle that is deployed and stored by hash, with nothing else to
 * upload, store or keep in step (the platform splits it off only in its run folder,
 * runtime/node/bundle-files.ts).
 * The map holds no names, the source text of the author's own files only (for a debugger: gust
 * replay --inspect; they are small beside what they bundle), and, for dependencies (node_modules),
 * one mapping per original line instead of one per token: a frame in a library still names its
 * file and line, only the author's own files keep exact columns. A bundle of the AWS SDK (2.3 MB)
 * grows by 0.7 MB instead of 1.9 MB.
 */
import { INLINE_MAP_PREFIX, MappingsReader } from '../runtime/sandbox/sourcemap.js';

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DEPENDENCY = /(^|[/\\])node_modules[/\\]/;

/** `code` with `map` (esbuild's JSON) appended as a data URL, the way Node and browsers read it too. */
export function inlineSourceMap(code: string, map: string): string {
  const { sources, mappings, sourcesContent } = JSON.parse(map) as {
    sources: string[];
    mappings: string;
    sourcesContent?: (string | null)[];
  };
  // The author's own files keep their text, for a debugger (gust replay --inspect); a dependency's has none.
  const texts = sources.map((s, i) => (DEPENDENCY.test(s) ? null : (sourcesContent?.[i] ?? null)));
  const thin = {
    version: 3,
    sources,
    ...(texts.some((t) => t !== null) ? { sourcesContent: texts } : {}),
    names: [],
    mappings: thinMappings(mappings, sources),
  };
  const data = Buffer.from(JSON.stringify(thin)).toString('base64');
  return `${code.endsWith('\n') ? code : `${code}\n`}${INLINE_MAP_PREFIX}${data}\n`;
}

/**
 * A dependency's segment is dropped when the one before it on the same generated line comes from
 * the same source line: every position then still maps to the same file and line.
 */
export function thinMappings(mappings: string, sources: readonly string[]): string {
  const dependency = sources.map((s) => DEPENDENCY.test(s));
  const r = new MappingsReader(mappings);
  const lines: string[] = [];
  // What the kept segments add up to: written values are differences to these.
  let source = 0;
  let originalLine = 0;
  let originalColumn = 0;
  for (;;) {
    const kept: string[] = [];
    let column = 0;
    // The source and original line of the segment before on this line (-1: none, or unmapped).
    let beforeSource = -1;
    let beforeLine = -1;
    while (!r.lineEnd) {
      r.segment();
      if (r.fields === 1) {
        kept.push(vlq(r.column - column));
        column = r.column;
        beforeSource = -1;
        continue;
      }
      const same = beforeSource === r.source && beforeLine === r.originalLine;
      beforeSource = r.source;
      beforeLine = r.originalLine;
      if (same && dependency[r.source] === true) continue;
      kept.push(
        vlq(r.column - column) +
          vlq(r.source - source) +
          vlq(r.originalLine - originalLine) +
          vlq(r.originalColumn - originalColumn),
      );
      column = r.column;
      source = r.source;
      originalLine = r.originalLine;
      originalColumn = r.originalColumn;
    }
    lines.push(kept.join(','));
    if (r.done) return lines.join(';');
    r.nextLine();
  }
}

function vlq(value: number): string {
  let rest = value < 0 ? -value * 2 + 1 : value * 2;
  let out = '';
  do {
    const digit = rest % 32;
    rest = Math.floor(rest / 32);
    out += BASE64[rest > 0 ? digit + 32 : digit];
  } while (rest > 0);
  return out;
}
