/**
 * replay: run a recorded invocation again with what it got, on the active version or --version N,
 * and print the new result beside the old: status, duration, error, what it answered, logs. With
 * --inspect the platform starts an instance of its own with the inspector open and the CLI says where
 * to attach (on --inspect-port, or any free port), then waits for the result (Ctrl-C stops the
 * replay: exit 130). Run from a project folder (gust.yaml here or above), it tells the platform
 * where the sources are, so that the debugger's breakpoints in them bind. The exit code follows the
 * replay, as `gust invoke` does: 0 when it ended ok, 1 otherwise.
 */
import { existsSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Command, InvalidArgumentError } from 'commander';
import type { ErrorCode } from '../../errors.js';
import type { InspectAnswer, Inspector, InvocationRecord, ReplayAnswer } from '../api.js';
import type { GustClient } from '../client.js';
import type { Cli } from '../context.js';
import { CliError, EXIT, usageError } from '../fail.js';
import { emit, formatMs, oneLine, table } from '../output.js';
import { parseVersion } from './functions.js';

interface ReplayFlags {
  readonly version?: number;
  readonly inspect?: boolean;
  readonly inspectPort?: number;
  readonly json?: boolean;
}

/** What a human sees of a response body or a returned value at most; --json has the whole. */
const SHOWN_BYTES = 4096;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
/** An invocation id: a UUID (version 7, its time first: dispatch/invocation.ts). */
const INVOCATION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function registerReplayCommand(program: Command, cli: Cli): void {
  program
    .command('replay')
    .description(
      'run a recorded invocation again with its exact event, and show the new result beside the old',
    )
    .argument('<invocation-id>', 'the invocation to run again (gust invocations NAME lists them)')
    .option('--version <n>', 'run it on this version (default: the active one)', parseVersion)
    .option('--inspect', 'run it with the Node inspector open, and wait for a debugger (an admin key)')
    .option(
      '--inspect-port <port>',
      'the inspector on this port of 127.0.0.1 (default: any free one)',
      parsePort,
    )
    .option('--json', 'print {"original", "replay", "input", "result" | "response", "error"} as JSON')
    .action(async (id: string, flags: ReplayFlags) => {
      if (!INVOCATION_ID.test(id)) {
        throw usageError(
          `${JSON.stringify(id.slice(0, 60))} is not an invocation id (one looks like 0194c2a1-7f3e-7b2c-9d4e-5f6a7b8c9d0e): gust invocations NAME lists them`,
        );
      }
      if (flags.inspectPort !== undefined && flags.inspect !== true) {
        throw usageError('--inspect-port goes with --inspect');
      }
      const client = cli.client();
      const where = `/invocations/${encodeURIComponent(id)}/replay`;
      const root = flags.inspect === true ? projectRoot(process.cwd()) : undefined;
      const body = {
        ...(flags.version === undefined ? {} : { version: flags.version }),
        ...(flags.inspect === true ? { inspect: true } : {}),
        ...(flags.inspectPort === undefined ? {} : { inspectPort: flags.inspectPort }),
        ...(root === undefined ? {} : { sourceRoot: pathToFileURL(`${root}${path.sep}`).href }),
      };
      const first = await client.post<ReplayAnswer | InspectAnswer>(where, body, { timeoutMs: 0 });
      const answer = 'inspector' in first ? await underDebugger(cli, client, first, flags) : first;
      emit(cli, flags, answer, human);
      const { replay } = answer;
      if (replay.status !== 'ok') {
        throw new CliError(
          `the replay ${replay.id} of ${answer.original.id} ended ${replay.status}${replay.error ? `: ${oneLine(replay.error)}` : ''}`,
          { code: (answer.error?.code as ErrorCode | undefined) ?? 'FUNCTION_ERROR' },
        );
      }
    });
}

/** Says where to attach, then asks for the result until it comes; Ctrl-C stops the replay. */
async function underDebugger(
  cli: Cli,
  client: GustClient,
  started: InspectAnswer,
  flags: ReplayFlags,
): Promise<ReplayAnswer> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  // before the line that says where to attach: whoever reads it may press Ctrl-C at once
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const { inspector } = started;
  if (flags.json === true) cli.err(JSON.stringify({ inspector }));
  else cli.err(attachText(inspector, client.url));
  const where = `/replays/${encodeURIComponent(started.replay.id)}`;
  try {
    for (;;) {
      const got = await client
        .get<ReplayAnswer | InspectAnswer>(where, { query: { wait: 20 }, signal: stop.signal })
        .catch((e: unknown) => {
          if (stop.signal.aborted) return undefined;
          throw e;
        });
      if (got === undefined) break;
      if ('original' in got && 'input' in got) return got;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  await client.delete(where).catch(() => {});
  throw new CliError(`the replay ${started.replay.id} was stopped (Ctrl-C) before it ended`, {
    exitCode: EXIT.interrupted,
  });
}

/** `9229`: a port of 127.0.0.1 for the inspector. */
function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new InvalidArgumentError('expected a port number, 1 to 65535 (9229 is the usual one).');
  }
  return n;
}

/** The folder of the gust.yaml at or above `dir`: where the bundle's sources are named from. */
function projectRoot(dir: string): string | undefined {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    if (existsSync(path.join(at, 'gust.yaml'))) return at;
    if (path.dirname(at) === at) return undefined;
  }
}

function attachText(inspector: Inspector, platformUrl: string): string {
  const { hostname } = new URL(platformUrl);
  const remote = LOOPBACK.has(hostname)
    ? ''
    : `\nthe port is on the platform's machine: ssh -L ${inspector.port}:127.0.0.1:${inspector.port} ${hostname}, then attach here`;
  return (
    `Debugger listening: open chrome://inspect, or attach VS Code to ${inspector.host}:${inspector.port}\n` +
    `  ${inspector.url}\n` +
    `  the function waits for the debugger, then pauses on the first line of your handler; Ctrl-C stops the replay${remote}`
  );
}

function human(a: ReplayAnswer): string {
  const { original: o, replay: r } = a;
  const rows = [
    ['invocation', o.id, r.id],
    ['version', `v${o.version}`, `v${r.version}`],
    ['trigger', o.trigger, r.trigger],
    ['status', o.status, r.status],
    ['duration', duration(o), duration(r)],
    ['error', oneLine(o.error) || '-', oneLine(r.error) || '-'],
    ['answer', 'not kept', answered(a)],
  ];
  const masked = a.input.masked.length === 0 ? [] : [maskedText(a.input.masked)];
  return [
    `replay of ${o.id} (${o.function}, ${a.input.kind === 'http' ? 'HTTP request' : 'event'} of ${a.input.bytes} bytes)`,
    table(rows, ['', 'ORIGINAL', 'REPLAY']),
    ...masked,
    ...section('logs of the original', o.logs),
    ...section('logs of the replay', r.logs),
    ...section(r.stack === null ? '' : 'stack of the replay', r.stack ?? ''),
    ...section(`what the replay ${a.response === undefined ? 'returned' : 'answered'}`, shown(a)),
  ].join('\n');
}

/** `(the Gust key in the authorization header and the URL was not kept: the replay sent it masked)` */
function maskedText(where: readonly string[]): string {
  const headers = where.filter((w) => w !== 'url');
  const places = [
    ...(headers.length === 0 ? [] : [`the ${both(headers)} header${headers.length === 1 ? '' : 's'}`]),
    ...(where.includes('url') ? ['the URL'] : []),
  ];
  return `(the Gust key in ${both(places)} was not kept: the replay sent it masked)`;
}

/** `a`, `a and b`, `a, b and c`. */
function both(items: readonly string[]): string {
  return items.length < 2 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

function duration(r: InvocationRecord): string {
  return r.cold ? `${formatMs(r.durationMs)} (cold start ${formatMs(r.initMs)})` : formatMs(r.durationMs);
}

function answered({ response, result, replay }: ReplayAnswer): string {
  if (response !== undefined) {
    const bytes = Buffer.byteLength(response.body, response.base64 === true ? 'base64' : 'utf8');
    const status = [response.status, STATUS_CODES[response.status]].filter(Boolean).join(' ');
    return `${status}, ${bytes} bytes`;
  }
  if (result !== undefined) return 'a value (below)';
  return replay.status === 'ok' ? 'nothing' : '-';
}

/** The response body (text; base64 said as such) or the returned value, cut for a terminal. */
function shown({ response, result }: ReplayAnswer): string {
  let text: string;
  if (response !== undefined) {
    text = response.base64 === true ? `(${response.body.length} characters of base64)` : response.body;
  } else if (result !== undefined) {
    text = typeof result === 'string' ? result : JSON.stringify(result, null, 2);
  } else return '';
  return text.length > SHOWN_BYTES ? `${text.slice(0, SHOWN_BYTES)}… (--json shows the whole)` : text;
}

/** A titled block of text, left out when there is none. */
function section(title: string, text: string): string[] {
  if (title === '' || text.trim() === '') return [];
  return ['', `${title}:`, text.trimEnd()];
}
