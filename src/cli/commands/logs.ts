/** logs and invocations: what functions printed, and the record of each invocation. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../../manifest/duration.js';
import { TRIGGER_KINDS } from '../../manifest/triggers.js';
import type { InvocationRecord, LogEntry, LogsAnswer } from '../api.js';
import type { Cli } from '../context.js';
import { LogTail } from '../log-tail.js';
import { emit, formatMs, formatTime, oneLine, table } from '../output.js';

const STATUSES = ['ok', 'failed', 'error', 'timeout', 'crashed', 'throttled', 'rejected'];
/**
 * What a record's `trigger` can be. The platform takes any name and finds nothing for a mistyped
 * one: checked here, so that `--trigger htp` is a usage error rather than an empty list.
 */
/** What a record's trigger may be: the manifest's kinds, and the calls that come from no trigger. */
const [HTTP, ...OTHER_KINDS] = TRIGGER_KINDS;
const TRIGGERS = [HTTP!, 'invoke', 'lambda-api', ...OTHER_KINDS, 'replay'];
/** The platform's own default page of logs. */
const LOGS_LIMIT = 50;
const MAX_LIMIT = 1000;

interface LogsFlags {
  readonly follow?: boolean;
  readonly invocation?: string;
  readonly limit?: number;
  readonly json?: boolean;
}

interface LogsQuery {
  readonly invocation?: string | undefined;
  readonly limit?: number | undefined;
}

interface InvocationsFlags {
  readonly status?: string;
  readonly trigger?: string;
  readonly since?: string;
  readonly limit?: number;
  readonly cursor?: string;
  readonly json?: boolean;
}

interface InvocationsAnswer {
  readonly invocations: InvocationRecord[];
  /** Pass back as --cursor for the next (older) page; null on the last one. */
  readonly cursor: string | null;
}

export function registerLogCommands(program: Command, cli: Cli): void {
  program
    .command('logs')
    .description("print a function's logs, oldest first")
    .argument('<name>', 'function name')
    .option('-f, --follow', 'keep printing new logs until Ctrl-C (with --json: one JSON line per entry)')
    .option('--invocation <id>', 'only the logs of this invocation')
    .option(
      '--limit <n>',
      `the logs of this many of the last calls, 1 to ${MAX_LIMIT} (default ${LOGS_LIMIT})`,
      limitParser('use --invocation ID for an older call'),
    )
    .option('--json', 'print JSON')
    .action(async (name: string, flags: LogsFlags) => {
      const query = { invocation: flags.invocation, limit: flags.limit };
      if (flags.follow === true) return follow(cli, name, query, flags.json === true);
      const path = `/functions/${encodeURIComponent(name)}/logs`;
      const answer = await cli.client().get<LogsAnswer>(path, { query });
      emit(cli, flags, answer, ({ logs }) => logs.flatMap(logLines).join('\n'));
      fullPageNote(cli, flags, answer.logs.length);
    });

  program
    .command('invocations')
    .description("list a function's invocations, newest first, a page at a time")
    .argument('<name>', 'function name')
    .addOption(new Option('--status <status>', 'only invocations with this status').choices(STATUSES))
    .addOption(new Option('--trigger <trigger>', 'only invocations from this trigger').choices(TRIGGERS))
    .option(
      '--since <when>',
      'only since then: a duration back from now (30m, 24h, 7d) or an ISO time',
      checkSince,
    )
    .option(
      '--limit <n>',
      `at most this many per page, 1 to ${MAX_LIMIT} (default 20)`,
      limitParser('--cursor pages past it'),
    )
    .option('--cursor <cursor>', 'the next page, from the previous page')
    .option('--json', 'print JSON ({"invocations", "cursor"})')
    .action(async (name: string, flags: InvocationsFlags) => {
      const answer = await cli
        .client()
        .get<InvocationsAnswer>(`/functions/${encodeURIComponent(name)}/invocations`, {
          query: {
            status: flags.status,
            trigger: flags.trigger,
            since: flags.since,
            limit: flags.limit,
            cursor: flags.cursor,
          },
        });
      emit(cli, flags, answer, ({ invocations }) =>
        invocations.length === 0 ? `no invocations of ${name}` : invocationTable(invocations),
      );
      if (flags.json !== true && answer.cursor !== null) {
        cli.err(`more: gust invocations ${name} --cursor ${answer.cursor}${sameFilters(flags)}`);
      }
    });
}

/** The filters of this page, to repeat for the next one. */
function sameFilters(flags: InvocationsFlags): string {
  const parts: string[] = [];
  if (flags.status !== undefined) parts.push(`--status ${flags.status}`);
  if (flags.trigger !== undefined) parts.push(`--trigger ${flags.trigger}`);
  if (flags.since !== undefined) parts.push(`--since ${flags.since}`);
  if (flags.limit !== undefined) parts.push(`--limit ${flags.limit}`);
  return parts.length === 0 ? '' : ` ${parts.join(' ')}`;
}

/**
 * A full page may leave older calls out, which a person would not guess from the lines alone: said
 * once on stderr (not with --json, whose answer holds the page as it is).
 */
function fullPageNote(cli: Cli, flags: LogsQuery, entries: number): void {
  const limit = flags.limit ?? LOGS_LIMIT;
  if (flags.invocation !== undefined || entries < limit) return;
  const more = limit < MAX_LIMIT ? '--limit raises it' : 'use --invocation ID for an older call';
  cli.note(`showing the logs of the last ${limit === 1 ? 'call' : `${limit} calls`}; ${more}`);
}

/** Prints the last page, then what comes after it, until Ctrl-C. */
async function follow(cli: Cli, name: string, query: LogsQuery, json: boolean) {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const tail = new LogTail({
      client: cli.client(),
      print: (_name, entry) => {
        if (json) cli.out(JSON.stringify(entry));
        else for (const line of logLines(entry)) cli.out(line);
      },
    });
    const shown = await tail.backlog(name, query, stop.signal);
    if (shown === undefined) return;
    fullPageNote(cli, query, shown);
    await tail.run(stop.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Each line of an entry (the sandbox stamps time and level) after its invocation id, for grep; a
 * failed call's outcome follows its lines.
 */
function logLines(entry: LogEntry): string[] {
  const { logged, failure } = entryLines(entry);
  return [...logged, ...failure].map((line) => `${entry.invocation}  ${line}`);
}

/**
 * What an entry shows: the lines it logged, and for a failed call its outcome, `error: TypeError:
 * …`, then its stack's frames.
 */
export function entryLines(entry: LogEntry): { logged: string[]; failure: string[] } {
  const text = (entry.logs ?? '').replace(/\n$/, '');
  const logged = text === '' ? [] : text.split('\n');
  const failure: string[] = [];
  // A platform older than error and stack in log entries sends neither.
  if (entry.status !== 'ok' && entry.error) {
    const error = typeof entry.error === 'string' ? entry.error : oneLine(entry.error);
    failure.push(...`${entry.status}: ${error}`.split('\n'), ...frameLines(entry.stack));
  }
  return { logged, failure };
}

const FRAME = /^\s+at /;
/** `    at NAME (FILE:LINE:COLUMN)` or `    at FILE:LINE:COLUMN`: the location. */
const LOCATION = /^\s+at (?:.*? \()?(.+?:\d+:\d+)\)?$/;

/** A stack's frames; the text before them repeats the error. */
function frameLines(stack: string | null | undefined): string[] {
  const lines = (stack ?? '').split('\n');
  const first = lines.findIndex((l) => FRAME.test(l));
  return first < 0 ? [] : lines.slice(first);
}

/** Where it was thrown: the first frame in a file (the platform removed its own frames already). */
function thrownAt(stack: string | null | undefined): string {
  for (const line of frameLines(stack)) {
    const where = LOCATION.exec(line)?.[1];
    if (where !== undefined && !where.startsWith('node:')) return where;
  }
  return '';
}

function invocationTable(invocations: readonly InvocationRecord[]): string {
  return table(
    invocations.map((i) => [
      i.id,
      String(i.attempt),
      i.status,
      i.trigger,
      `v${i.version}`,
      formatTime(i.start),
      formatMs(i.durationMs),
      formatMs(i.billedMs),
      i.cold === true ? 'cold' : '',
      thrownAt(i.stack),
      i.deniedCalls > 0 ? String(i.deniedCalls) : '',
      oneLine(i.error).slice(0, 60),
    ]),
    [
      'ID',
      'ATTEMPT',
      'STATUS',
      'TRIGGER',
      'VERSION',
      'START',
      'DURATION',
      'BILLED',
      'COLD',
      'AT',
      'DENIED',
      'ERROR',
    ],
  );
}

/** `--limit`: 1 to 1000, as the platform takes it; `beyond` says what reaches past the most. */
function limitParser(beyond: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
      throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_LIMIT} (${beyond}).`);
    }
    return n;
  };
}

/**
 * `--since`: as the platform reads it (a duration back from now, else a time that starts with a
 * digit, as an ISO time does), so that `--since yesterday` is a usage error, not the platform's 400.
 * A time to come is one too: nothing happened since then, and saying so beats an empty answer.
 */
export function checkSince(value: string): string {
  if (parseDuration(value) !== undefined) return value;
  const at = /^\d/.test(value) ? Date.parse(value) : Number.NaN;
  if (at > Date.now()) {
    throw new InvalidArgumentError(
      'that is in the future: give a time before now, or a duration back from now, such as 24h or 7d.',
    );
  }
  if (!Number.isNaN(at)) return value;
  throw new InvalidArgumentError(
    'expected a duration back from now, such as 30m, 24h or 7d, or an ISO time, such as 2026-11-30T12:00:00Z.',
  );
}
