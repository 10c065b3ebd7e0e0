/**
 * colors: ANSI colours for a terminal, or none (a pipe, NO_COLOR: see Cli.colors). The few the CLI
 * uses, and one colour per function name so that interleaved logs are told apart at a glance.
 */

export type Paint = (text: string) => string;

export interface Palette {
  readonly red: Paint;
  readonly green: Paint;
  readonly dim: Paint;
  /**
   * The same colour for a name every time: the first names asked for get colours no other name has
   * (as many as there are), later ones a colour by hash.
   */
  readonly name: (name: string) => Paint;
}

const sgr =
  (open: number, close: number): Paint =>
  (text) =>
    `\x1b[${open}m${text}\x1b[${close}m`;

/** cyan, magenta, yellow, blue, bright green, bright magenta: not red (errors) nor green (ok). */
const NAME_COLORS = [36, 35, 33, 34, 92, 95].map((code) => sgr(code, 39));
const plain: Paint = (text) => text;

export function palette(enabled: boolean): Palette {
  if (!enabled) return { red: plain, green: plain, dim: plain, name: () => plain };
  const given = new Map<string, number>();
  return {
    red: sgr(31, 39),
    green: sgr(32, 39),
    dim: sgr(2, 22),
    name: (name) => {
      let index = given.get(name);
      if (index === undefined) {
        index = given.size < NAME_COLORS.length ? given.size : hash(name) % NAME_COLORS.length;
        given.set(name, index);
      }
      return NAME_COLORS[index]!;
    },
  };
}

function hash(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) >>> 0;
  return h;
}
