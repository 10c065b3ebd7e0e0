/**
 * invoke: call a function with a JSON event and print what it returned; or, with --path, send an
 * HTTP request to one of its routes (route parameters reach ctx.params) and print the response body.
 * The exit code follows the invocation, not the HTTP status: a 404 the function chose to answer is
 * an answer (exit 0, as curl does); a function that threw, crashed or timed out is a failure (exit 1).
 * A caller's trace: `--header traceparent:…` (with --path, a header of the request like any other;
 * without, the one header an event takes), else TRACEPARENT from the environment (cli/client.ts).
 */

import { STATUS_CODES } from 'node:http';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { HEADER_VALUE, TOKEN } from '../../control/http-call.js';
import type { ErrorCode } from '../../errors.js';
import { HTTP_METHODS } from '../../manifest/schema.js';
import type { InvokeAnswer } from '../api.js';
import type { Cli } from '../context.js';
import { type Data, readData } from '../data.js';
import { CliError, usageError } from '../fail.js';
import { emit, formatMs, oneLine } from '../output.js';

interface InvokeFlags {
  readonly data?: string;
  readonly async?: boolean;
  readonly json?: boolean;
  readonly path?: string;
  readonly method?: string;
  readonly header: readonly (readonly [string, string])[];
}

export function registerInvokeCommand(program: Command, cli: Cli): void {
  program
    .command('invoke')
    .description('invoke a function with an event, or with an HTTP request to one of its routes (--path)')
    .argument('<name>', 'function name')
    .option(
      '-d, --data <JSON|@FILE|->',
      'the event (with --path: the request body): JSON, @file.json, or - for standard input',
    )
    .option(
      '--path <path>',
      'an HTTP request to the route of NAME that takes this path and query, e.g. /price/B-2',
    )
    .addOption(
      new Option(
        '--method <method>',
        'with --path: the HTTP method (default GET, or POST with --data)',
      ).argParser(parseMethod),
    )
    .option(
      '--header <name:value>',
      'with --path: a request header (repeatable); without: only traceparent, the trace to continue',
      collectHeader,
      [],
    )
    .option('--async', 'queue the invocation and return at once')
    .option('--json', 'print the invocation record and the result (or response) as JSON')
    .action(async (name: string, flags: InvokeFlags) => {
      const other = flags.header.find(([k]) => k.toLowerCase() !== 'traceparent');
      if (flags.path === undefined && (flags.method !== undefined || other !== undefined)) {
        const what = flags.method === undefined ? `--header ${other?.[0]}` : '--method';
        throw usageError(
          `${what} goes with --path (an HTTP request to one of its routes); an event takes only --header traceparent:… (the trace to continue)`,
        );
      }
      if (flags.path !== undefined && flags.async === true) {
        throw usageError(
          '--async goes with events, not with --path: an HTTP call is answered, so it runs now',
        );
      }
      if (flags.path !== undefined && !flags.path.startsWith('/')) {
        throw usageError(`--path ${flags.path}: a path starts with /, e.g. --path /price/B-2`);
      }
      const data = flags.data === undefined ? undefined : await readData(cli, flags.data);
      const answer = await cli
        .client()
        .post<InvokeAnswer>(`/functions/${encodeURIComponent(name)}/invoke`, requestBody(flags, data), {
          timeoutMs: 0,
          // an event's trace travels as the API call's own traceparent (an HTTP call's, in its headers)
          ...(flags.path === undefined && flags.header.length > 0
            ? { headers: { traceparent: flags.header.at(-1)![1] } }
            : {}),
        });
      const { invocation } = answer;
      emit(cli, flags, answer, (a) => humanResult(a, flags.async === true));
      if (flags.async === true) return;
      if (flags.json !== true) {
        if (answer.response !== undefined) writeBody(cli, answer.response);
        if (invocation.logs) cli.err(invocation.logs.trimEnd());
        if (invocation.status === 'ok') cli.err(summary(answer));
      }
      if (invocation.status !== 'ok') {
        throw new CliError(
          `${name} ${invocation.status}${invocation.error ? `: ${oneLine(invocation.error)}` : ''} (see \`gust logs ${name} --invocation ${invocation.id}\`)`,
          // the platform's code for the failure (FUNCTION_ERROR, FUNCTION_TIMEOUT, ...), as it sent it
          { code: (answer.error?.code as ErrorCode | undefined) ?? 'FUNCTION_ERROR' },
        );
      }
    });
}

/** The event form (`data`), or the HTTP form (`http`) with --path. */
function requestBody(flags: InvokeFlags, data: Data | undefined): Record<string, unknown> {
  if (flags.path === undefined) {
    return { ...(data === undefined ? {} : { data: data.value }), ...(flags.async ? { async: true } : {}) };
  }
  const headers: Record<string, string[]> = {};
  for (const [k, v] of flags.header) {
    const name = k.toLowerCase();
    headers[name] = [...(headers[name] ?? []), v];
  }
  if (data !== undefined) headers['content-type'] ??= ['application/json'];
  const http = {
    path: flags.path,
    ...(flags.method === undefined ? {} : { method: flags.method }),
    headers,
    ...(data === undefined ? {} : { body: data.text }),
  };
  return { http, ...(flags.async ? { async: true } : {}) };
}

function parseMethod(value: string): string {
  const method = value.toUpperCase();
  if (!(HTTP_METHODS as readonly string[]).includes(method)) {
    throw new InvalidArgumentError(`use ${HTTP_METHODS.join(', ')}`);
  }
  return method;
}

/** `--header 'accept: text/plain'`, once per header. */
function collectHeader(
  value: string,
  previous: readonly (readonly [string, string])[],
): readonly (readonly [string, string])[] {
  const colon = value.indexOf(':');
  const name = value.slice(0, Math.max(colon, 0)).trim();
  if (colon < 0 || !TOKEN.test(name)) {
    throw new InvalidArgumentError('expected NAME:VALUE, e.g. --header "accept: text/plain"');
  }
  const text = value.slice(colon + 1).trim();
  if (!HEADER_VALUE.test(text)) {
    throw new InvalidArgumentError('a header value holds no line break or control character');
  }
  return [...previous, [name, text]];
}

/** The response body as its bytes; a text without a final newline gets one at a terminal. */
function writeBody(cli: Cli, response: NonNullable<InvokeAnswer['response']>): void {
  const bytes = Buffer.from(response.body, response.base64 === true ? 'base64' : 'utf8');
  if (bytes.length === 0) return;
  cli.write(bytes);
  if (cli.stdoutIsTTY && response.base64 !== true && !response.body.endsWith('\n')) cli.write('\n');
}

function humanResult({ invocation, result }: InvokeAnswer, isAsync: boolean): string {
  if (isAsync)
    return `accepted ${invocation.id} (see \`gust logs ${invocation.function} --invocation ${invocation.id}\`)`;
  if (result === undefined) return '';
  return typeof result === 'string' ? result : JSON.stringify(result, null, 2);
}

/** `price v1  200 OK  3 ms (billed 3 ms, 128 MB)  ID`; an event's shows `ok` where the status is. */
function summary({ invocation: i, response }: InvokeAnswer): string {
  const cold = i.cold === true ? `, cold start ${formatMs(i.initMs)}` : '';
  const status =
    response === undefined ? i.status : `${response.status} ${STATUS_CODES[response.status] ?? ''}`.trimEnd();
  return `${i.function} v${i.version}  ${status}  ${formatMs(i.durationMs)} (billed ${formatMs(i.billedMs)}, ${i.memoryMb ?? '?'} MB${cold})  ${i.id}`;
}
