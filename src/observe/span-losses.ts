/**
 * observe/span-losses: what the trace exporter lost, added up between two lines of the platform's
 * log, and said as one line: how many spans (of how many invocations) and why, never a stack.
 * The trace worker counts what it lost by kind (traces.ts `Loss`); the platform's thread adds the
 * invocations it could not even hand over.
 */

/** Why spans were lost. */
export type LossKind =
  /** The collector refused them, or could not be reached (after the exporter's retries). */
  | 'failed'
  /** More than the worker's queue held were waiting for the collector. */
  | 'dropped'
  /** Still waiting when the platform stopped and the collector took too long. */
  | 'unsent';

interface Tally {
  spans: number;
  calls: number;
  /** The last reason given, one line. */
  reason: string | undefined;
}

const EMPTY = (): Tally => ({ spans: 0, calls: 0, reason: undefined });
const n = (x: number) => x.toLocaleString('en-US');

export class SpanLosses {
  private tallies = new Map<LossKind, Tally>();
  /** Invocations the platform's thread did not hand to the worker (no span was made). */
  private unmade = 0;
  private warning: string | undefined;

  constructor(private readonly limits: { readonly queue: number; readonly pending: number }) {}

  get empty(): boolean {
    return this.tallies.size === 0 && this.unmade === 0 && this.warning === undefined;
  }

  lost(kind: LossKind, spans: number, calls: number, reason?: string): void {
    const t = this.tallies.get(kind) ?? EMPTY();
    t.spans += spans;
    t.calls += calls;
    if (reason !== undefined) t.reason = reason;
    this.tallies.set(kind, t);
  }

  notMade(): void {
    this.unmade++;
  }

  /** Something the OpenTelemetry SDK warned of (a header it could not read, a partial success). */
  warned(message: string): void {
    this.warning = message;
  }

  /** One line saying all of it since the last, then forgets it; undefined when there is nothing. */
  take(url: string): string | undefined {
    if (this.empty) return undefined;
    const of = (t: Tally) => `${n(t.spans)} span(s) of ${n(t.calls)} invocation(s)`;
    const parts: string[] = [];
    const failed = this.tallies.get('failed');
    if (failed) parts.push(`${of(failed)} not sent (${failed.reason ?? 'the collector refused them'})`);
    const dropped = this.tallies.get('dropped');
    if (dropped) {
      parts.push(
        `${of(dropped)} dropped: ${n(this.limits.queue)} spans were already waiting for the collector`,
      );
    }
    if (this.unmade > 0) {
      parts.push(
        `${n(this.unmade)} invocation(s) left without spans: ${n(this.limits.pending)} were already waiting for the exporter`,
      );
    }
    const unsent = this.tallies.get('unsent');
    if (unsent)
      parts.push(`${of(unsent)} still unsent at the stop (${unsent.reason ?? 'the collector was slow'})`);
    if (this.warning !== undefined) parts.push(`the exporter warned: ${this.warning}`);
    this.tallies = new Map();
    this.unmade = 0;
    this.warning = undefined;
    return `OTLP export to ${url} lost spans: ${parts.join('; ')}`;
  }
}

/** An error or a diagnostic as one short line: the first line of its text, no stack. */
export function oneLineReason(e: unknown): string {
  const err = e as { message?: unknown; code?: unknown; data?: unknown; errors?: unknown } | undefined;
  let text = typeof err?.message === 'string' ? err.message : String(e);
  // a connection to a name of several addresses fails with an AggregateError without a message
  if (text === '' && Array.isArray(err?.errors) && err.errors.length > 0) return oneLineReason(err.errors[0]);
  if (text === '' && typeof err?.code === 'string') text = err.code;
  // the exporter's HTTP errors: the status in `code`, the collector's answer in `data`
  if (typeof err?.code === 'number') {
    text = `HTTP ${err.code}${text ? ` ${text}` : ''}${typeof err.data === 'string' && err.data ? `: ${err.data}` : ''}`;
  }
  const line = text.split('\n', 1)[0]!.trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line || 'no reason given';
}
