/**
 * What the CLI draws on a terminal and leaves out elsewhere: the progress line, colours, and
 * `gust dev`'s lines of an invocation. On fake streams: a test's own stdio is a pipe.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../src/cli/api.js';
import { palette } from '../../src/cli/colors.js';
import { createCli } from '../../src/cli/context.js';
import { devLogLines } from '../../src/cli/dev/logs.js';
import { bundlingProgress, progressLine } from '../../src/cli/progress.js';

/** A stream that says it is (or is not) a terminal, and keeps what is written to it. */
function fakeStream(isTTY: boolean, columns = 80) {
  const written: string[] = [];
  return {
    isTTY,
    columns,
    write: (text: string) => {
      written.push(text);
      return true;
    },
    written,
  };
}

type FakeStream = ReturnType<typeof fakeStream>;

/** The CLI's context over fake streams. */
function fakeCli(options: {
  env?: Record<string, string>;
  json?: boolean;
  stdout: FakeStream;
  stderr: FakeStream;
}) {
  return createCli({
    env: options.env ?? {},
    cwd: '/',
    clientConfig: () => {
      throw new Error('not used');
    },
    json: options.json ?? false,
    stdin: new PassThrough() as unknown as NodeJS.ReadStream,
    stdout: options.stdout as unknown as NodeJS.WriteStream,
    stderr: options.stderr as unknown as NodeJS.WriteStream,
  });
}

describe('progress line', () => {
  it('on a terminal, each update rewrites the one line in place, and done clears it', () => {
    const tty = fakeStream(true);
    const progress = progressLine(tty);
    progress.update('bundling 3 functions…');
    const bundled = bundlingProgress(progress);
    bundled(1, 3, 'orders');
    bundled(2, 3, 'mail');
    progress.done();
    expect(tty.written).toEqual([
      '\r\x1b[Kbundling 3 functions…',
      '\r\x1b[Kbundling 1/3 orders…',
      '\r\x1b[Kbundling 2/3 mail…',
      '\r\x1b[K',
    ]);
  });

  it('cuts a line that would wrap to the width of the terminal (80 when it is not known)', () => {
    const tty = fakeStream(true, 12);
    progressLine(tty).update('bundling 10/12 a-long-name…');
    expect(tty.written).toEqual(['\r\x1b[Kbundling 1…']);
    const unknown = fakeStream(true, 0);
    progressLine(unknown).update('bundling 10/12 a-long-name…');
    expect(unknown.written).toEqual(['\r\x1b[Kbundling 10/12 a-long-name…']);
  });

  it('draws nothing the line already shows, and done clears only what was drawn', () => {
    const tty = fakeStream(true);
    const progress = progressLine(tty);
    progress.done();
    progress.update('uploading 1 kB…');
    progress.update('uploading 1 kB…');
    progress.done();
    progress.done();
    expect(tty.written).toEqual(['\r\x1b[Kuploading 1 kB…', '\r\x1b[K']);
  });

  it('writes nothing at all to a pipe, nor with --json on a terminal', () => {
    for (const [stream, enabled] of [
      [fakeStream(false), true],
      [fakeStream(true), false],
    ] as const) {
      const progress = progressLine(stream, enabled);
      progress.update('bundling 1/2 a…');
      progress.done();
      expect(stream.written).toEqual([]);
    }
  });

  it('a line printed while progress is drawn clears it first, then the progress is drawn again below it', () => {
    // stdout and stderr on one terminal, as a person sees them
    const screen: string[] = [];
    const on = (name: string) => ({
      ...fakeStream(true),
      write: (text: string) => screen.push(`${name}:${text}`) > 0,
    });
    const cli = fakeCli({ stdout: on('out'), stderr: on('err') });
    cli.out('before');
    cli.progress().update('uploading 4364 kB…');
    cli.out('price  INFO pricing');
    cli.err('✓ price v2 live');
    cli.progress().done();
    cli.out('after');
    expect(screen).toEqual([
      'out:before\n',
      'err:\r\x1b[Kuploading 4364 kB…',
      'err:\r\x1b[K',
      'out:price  INFO pricing\n',
      'err:uploading 4364 kB…',
      'err:\r\x1b[K',
      'err:✓ price v2 live\n',
      'err:uploading 4364 kB…',
      'err:\r\x1b[K',
      'out:after\n',
    ]);
  });

  it("the CLI's progress is drawn on a terminal's stderr, not with --json", () => {
    const cli = (json: boolean, stderr: FakeStream) => fakeCli({ json, stdout: fakeStream(false), stderr });
    const terminal = fakeStream(true);
    cli(false, terminal).progress().update('bundling 1/1 a…');
    expect(terminal.written).toEqual(['\r\x1b[Kbundling 1/1 a…']);
    const quiet = fakeStream(true);
    cli(true, quiet).progress().update('bundling 1/1 a…');
    expect(quiet.written).toEqual([]);
  });
});

describe('colours', () => {
  const cliColors = (env: Record<string, string>, stdoutTTY: boolean, stderrTTY: boolean) =>
    fakeCli({ env, stdout: fakeStream(stdoutTTY), stderr: fakeStream(stderrTTY) }).colors;

  it('are on for a terminal, off for a pipe, and off everywhere with NO_COLOR', () => {
    expect(cliColors({}, true, false)).toEqual({ stdout: true, stderr: false });
    expect(cliColors({}, false, true)).toEqual({ stdout: false, stderr: true });
    expect(cliColors({ NO_COLOR: '1' }, true, true)).toEqual({ stdout: false, stderr: false });
    // no-color.org: an empty NO_COLOR is as if unset
    expect(cliColors({ NO_COLOR: '' }, true, true)).toEqual({ stdout: true, stderr: true });
  });

  it('give a name the same colour every time, never that of an error or of ok', () => {
    const colors = palette(true);
    expect(colors.name('orders')('orders')).toBe(colors.name('orders')('orders'));
    // never red (errors) nor green (ok)
    for (const name of ['orders', 'mail', 'hello', 'a', 'price-list', 'thumbnails']) {
      const painted = colors.name(name)('x');
      expect(painted.endsWith('x\x1b[39m')).toBe(true);
      expect(['\x1b[31m', '\x1b[32m'].some((red) => painted.startsWith(red))).toBe(false);
    }
  });

  it('give the first names each a colour of its own (six), then colours by hash', () => {
    const colors = palette(true);
    // price and thumbnails share a colour by hash
    const names = ['price', 'stock', 'cart', 'mail', 'orders', 'thumbnails', 'report'];
    const opening = names.map((name) => colors.name(name)('x').slice(0, 5));
    expect(new Set(opening.slice(0, 6)).size).toBe(6);
    expect(colors.name('price')('x').slice(0, 5)).toBe(opening[0]);
  });
});

describe("gust dev's lines of an invocation", () => {
  const failed: LogEntry = {
    invocation: 'inv-1',
    version: 4,
    durationMs: 12.34,
    start: '2026-11-30T12:00:03.120Z',
    status: 'error',
    logs: '2026-11-30T12:00:03.121Z\tINFO\tpricing B-2\n',
    error: 'TypeError: boom',
    stack: 'TypeError: boom\n    at handler (src/price.ts:3:9)',
  };

  it('without colour: each line under the padded name, then how it ended, then the error and stack', () => {
    expect(devLogLines('price', failed, palette(false), 8)).toEqual([
      'price     2026-11-30T12:00:03.121Z\tINFO\tpricing B-2',
      'price     error 12.3 ms · v4 · inv-1',
      'price     error: TypeError: boom',
      'price         at handler (src/price.ts:3:9)',
    ]);
  });

  it('with colour: the name coloured, a failure red, ok green', () => {
    const colors = palette(true);
    const [logged, outcome, error] = devLogLines('price', failed, colors, 5);
    const name = colors.name('price')('price');
    expect(logged).toBe(`${name}  2026-11-30T12:00:03.121Z\tINFO\tpricing B-2`);
    expect(outcome).toContain(`${name}  \x1b[31merror\x1b[39m 12.3 ms`);
    expect(error).toBe(`${name}  \x1b[31merror: TypeError: boom\x1b[39m`);
    const [ok] = devLogLines('price', { ...failed, status: 'ok', logs: '', error: null }, colors, 5);
    expect(ok).toContain(`${name}  \x1b[32mok\x1b[39m`);
  });
});
