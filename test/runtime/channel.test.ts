/**
 * LineReader: how the host reads an instance's channel, whatever the instance writes.
 */
import { describe, expect, it } from 'vitest';
import { type LineOutcome, LineReader } from '../../src/runtime/node/channel.js';

function reader(maxBytes?: number) {
  const heard: LineOutcome[] = [];
  const r = new LineReader((o) => heard.push(o), maxBytes);
  return { heard, push: (text: string) => r.push(Buffer.from(text)) };
}

describe('LineReader', () => {
  it('parses lines split across chunks and several lines in one chunk, in order', () => {
    const { heard, push } = reader();
    push('[1,');
    push('2]\n[3]\n{"a"');
    push(':"é"}\n');
    expect(heard).toEqual([
      { ok: true, value: [1, 2] },
      { ok: true, value: [3] },
      { ok: true, value: { a: 'é' } },
    ]);
  });

  it('says a line that is not JSON is not JSON, and goes on with the next', () => {
    const { heard, push } = reader();
    push('nope\n[1]\n');
    expect(heard).toEqual([
      { ok: false, why: 'a message that is not JSON' },
      { ok: true, value: [1] },
    ]);
  });

  it('stops at a line past its bound, without keeping it, and reads nothing after', () => {
    const { heard, push } = reader(10);
    push('[1]\n[');
    push('1,1,1,1,1');
    push(',1]\n[2]\n');
    expect(heard).toEqual([
      { ok: true, value: [1] },
      { ok: false, why: 'a message longer than 10 bytes' },
    ]);
  });
});
