/**
 * channel: how the host reads an instance's channel (its fd 3, a socket pair): one JSON batch per
 * line, each line bounded.
 * Not Node's IPC channel: its parser runs in the platform and trusts the child. A function that
 * wrote raw bytes to fd 3 (fs.writeSync needs no permission on an open fd) with no newline grew
 * one string in the platform until V8's string limit threw inside Node's reader, which killed the
 * platform; and `NODE_*` messages drive Node's handle passing in the platform. Here a line past
 * MAX_MESSAGE_BYTES, or one that is not JSON, is a breach that kills the instance, nothing more.
 * Measured (2026-11-30, a loaded two-core machine, 20,000 ping-pongs of an invoke message, three
 * alternating rounds): 63-88 us per round trip here, 66-120 us with Node's JSON IPC: no cost.
 */

/**
 * The longest message an instance may send: a whole response of about 90 MB (base64 in JSON).
 * Bigger bodies are streamed (chunks of at most 1 MiB, sandbox/protocol.ts).
 */
export const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;
const NEWLINE = 0x0a;

export type LineOutcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly why: string };

/** Splits what arrives into lines and parses each; `onLine` hears every outcome, in order. */
export class LineReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private broken = false;

  constructor(
    private readonly onLine: (outcome: LineOutcome) => void,
    private readonly maxBytes = MAX_MESSAGE_BYTES,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (!this.broken) {
      const end = chunk.indexOf(NEWLINE, start);
      if (end < 0) {
        this.keep(chunk.subarray(start));
        return;
      }
      this.keep(chunk.subarray(start, end));
      if (this.broken) return;
      const line =
        this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      this.onLine(parse(line));
      start = end + 1;
    }
  }

  private keep(part: Buffer): void {
    if (part.length === 0) return;
    this.pendingBytes += part.length;
    if (this.pendingBytes > this.maxBytes) {
      // Nothing after it can be read as messages: the instance is killed for it.
      this.broken = true;
      this.pending = [];
      this.onLine({ ok: false, why: `a message longer than ${this.maxBytes} bytes` });
      return;
    }
    this.pending.push(part);
  }
}

function parse(line: Buffer): LineOutcome {
  try {
    return { ok: true, value: JSON.parse(line.toString('utf8')) };
  } catch {
    return { ok: false, why: 'a message that is not JSON' };
  }
}
