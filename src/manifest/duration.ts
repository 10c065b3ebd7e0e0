/**
 * manifest/duration: `500ms`, `30s`, `5m`, `1h`, `30d` <-> milliseconds.
 *
 * One number and one unit (ms, s, m, h, d); decimals are allowed (`1.5s`) and the result is
 * rounded to the nearest millisecond. No sign, no exponent, no spaces, no compound forms
 * (`1m30s`: write `90s`). `d` is here for the CLI (`--expires 30d`), not for the manifest.
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Milliseconds, or undefined when `text` is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (typeof text !== 'string') return undefined; // called with YAML values from plain JS too
  const match = DURATION.exec(text);
  if (!match) return undefined;
  const ms = Math.round(Number(match[1]) * UNIT_MS[match[2] as Unit]);
  // A long run of digits parses to Infinity; treat it as "not a duration" rather than "forever".
  return Number.isFinite(ms) ? ms : undefined;
}

/** The shortest exact form: 900000 -> `15m`, 1500 -> `1500ms`. For messages and listings. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms !== 0 && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
