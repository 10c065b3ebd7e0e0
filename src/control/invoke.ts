/**
 * invoke: `POST /functions/:name/invoke` in its two forms.
 * - An event, `{"data"}`: the function gets it as its event (a web handler, as a JSON POST).
 * - An HTTP call, `{"http": {method, path, headers, body}}`: matched against the function's own
 *   routes, it becomes the very Invocation the gateway builds for that request (same builder), so
 *   `ctx.params` is there. The response is collected whole, up to the body limit (a streamed one
 *   too, cancelled past it), and answered as JSON: status, headers, body as text or base64.
 * Either way a failed invocation answers 200 with its record and `error`: the call itself worked.
 */

import { acceptInvocation } from '../dispatch/accept.js';
import type { Deliveries } from '../dispatch/deliveries.js';
import type { Dispatcher, DispatchResult } from '../dispatch/dispatcher.js';
import { eventInvocation, httpInvocation } from '../dispatch/invocation.js';
import { GustError } from '../errors.js';
import { Answer, type EdgeRequest, header } from '../gateway/http.js';
import { invocationError } from '../gateway/outcome.js';
import type { Router } from '../gateway/router.js';
import { inputErrors } from '../manifest/input.js';
import { traceFrom } from '../observe/trace-context.js';
import type { HttpSink, WireResponse } from '../runtime/types.js';
import { bodyOf } from './body.js';
import type { FunctionControl } from './functions.js';
import { type HttpAnswer, type HttpCall, httpAnswer, readHttpCall } from './http-call.js';

export type { HttpAnswer };

export interface InvokeDeps {
  readonly control: FunctionControl;
  readonly dispatcher: Dispatcher;
  readonly deliveries: Deliveries;
  readonly router: Router;
  /** The most bytes of a response the HTTP form collects: the gateway's own body limit. */
  readonly maxResponseBytes: number;
}

export async function invoke(deps: InvokeDeps, req: EdgeRequest, name: string): Promise<unknown> {
  await deps.control.need(name);
  const body = bodyOf(req, ['data', 'async', 'http'], { optional: true });
  if (body.async !== undefined && typeof body.async !== 'boolean') {
    throw new GustError('BAD_REQUEST', 'async must be true or false');
  }
  if (body.async === true) {
    if (body.http !== undefined) {
      throw new GustError(
        'BAD_REQUEST',
        'an HTTP call is answered, so it cannot be async: leave out async or http',
      );
    }
    const id = await acceptInvocation(deps.deliveries, {
      function: name,
      trigger: 'invoke',
      trace: traceFrom(header(req, 'traceparent')),
      data: body.data ?? null,
    });
    return new Answer(202, { invocation: { id, function: name, status: 'queued' } });
  }
  if (body.http !== undefined) {
    if (body.data !== undefined) {
      throw new GustError(
        'BAD_REQUEST',
        'data and http exclude each other: an HTTP call has its body in http.body',
      );
    }
    return invokeHttp(deps, req, name, readHttpCall(body.http));
  }
  const invalid = inputErrors(deps.dispatcher.activeSpec(name)?.input, body.data ?? null);
  if (invalid.length > 0) {
    throw new GustError(
      'BAD_REQUEST',
      `the event does not match the input schema of ${name}; nothing ran`,
      invalid,
    );
  }
  const result = await deps.dispatcher.invoke(
    eventInvocation({
      function: name,
      trigger: 'invoke',
      trace: traceFrom(header(req, 'traceparent')),
      event: body.data ?? null,
    }),
  );
  const { outcome } = result;
  const json = outcome.type === 'ok' ? outcome.json : undefined;
  return (
    failed(result) ?? {
      invocation: result.record,
      ...(json === undefined ? {} : { result: JSON.parse(json) as unknown }),
    }
  );
}

async function invokeHttp(
  deps: InvokeDeps,
  req: EdgeRequest,
  name: string,
  call: HttpCall,
): Promise<unknown> {
  const route = deps.router.matchIn(name, call.method, call.pathname);
  if (route.type === 'webhook') {
    // A webhook's function gets the verified delivery as a queued event, never the request.
    throw new GustError(
      'BAD_REQUEST',
      `${call.method} ${call.pathname} is a webhook route of ${name}: its deliveries are signed by their sender and queued, not called; ` +
        `POST a signed delivery to the gateway, or hand ${name} an event with gust invoke ${name} --data`,
    );
  }
  if (route.type !== 'found') throw await noRoute(deps.control, name, call);
  // As through the gateway, the request names the host it was sent to (a handler may build URLs from it).
  const host = header(req, 'host');
  const headers =
    host === undefined || call.headers.some(([k]) => k === 'host')
      ? call.headers
      : [['host', host] as const, ...call.headers];
  const inv = httpInvocation({
    function: name,
    trigger: 'invoke',
    // the request's own traceparent, as its route would take it; else the API call's
    trace: traceFrom(call.headers.find(([k]) => k === 'traceparent')?.[1] ?? header(req, 'traceparent')),
    route,
    method: call.method,
    url: call.url,
    headers,
    body: call.body,
    sourceIp: req.sourceIp,
  });
  const collected = collect(deps.maxResponseBytes);
  const result = await deps.dispatcher.invoke(inv, collected.sink);
  const failure = failed(result);
  if (failure) return failure;
  const response =
    result.outcome.type === 'ok' ? (result.outcome.response ?? collected.response()) : undefined;
  if (response === undefined || (response.body?.byteLength ?? 0) > deps.maxResponseBytes) {
    const limit = `${deps.maxResponseBytes / (1024 * 1024)} MB`;
    throw new GustError(
      'PAYLOAD_TOO_LARGE',
      `${name} (invocation ${inv.id}) answered more than ${limit}, which is as much as this API collects: ` +
        `call its route over HTTP (${call.method} ${call.pathname}) to get the whole of it`,
    );
  }
  return { invocation: result.record, response: httpAnswer(response) };
}

/** The answer of an invocation that failed: its record and error. */
function failed(
  result: DispatchResult,
): { invocation: unknown; error: { code: string; message: string } } | undefined {
  const error = invocationError(result);
  return error && { invocation: result.record, error: { code: error.code, message: error.message } };
}

async function noRoute(control: FunctionControl, name: string, call: HttpCall): Promise<GustError> {
  const { routes } = await control.describe(name);
  if (routes.length === 0) {
    return new GustError(
      'BAD_REQUEST',
      `${name} has no http trigger, so no path to call: invoke it with an event ({"data"}, or gust invoke without --path)`,
    );
  }
  return new GustError(
    'BAD_REQUEST',
    `no route of ${name} takes ${call.method} ${call.pathname}; its routes: ${routes.join(', ')}`,
  );
}

/**
 * A sink that keeps a streamed response whole, up to `limit` bytes. Past it, the body is dropped
 * and the function's stream cancelled (as when an HTTP client goes away): no point making the rest.
 */
export function collect(limit: number): { sink: HttpSink; response: () => WireResponse | undefined } {
  let head: Pick<WireResponse, 'status' | 'headers'> | undefined;
  let chunks: Uint8Array[] = [];
  let size = 0;
  let over = false;
  let cancel: (() => void) | undefined;
  const sink: HttpSink = {
    head: (status, headers) => {
      head = { status, headers };
    },
    chunk: (data) => {
      if (over) return;
      size += data.byteLength;
      if (size <= limit) {
        chunks.push(data);
        return;
      }
      over = true;
      chunks = [];
      cancel?.();
    },
    end: () => {},
    onClose: (listener) => {
      cancel = listener;
    },
  };
  return {
    sink,
    response: () => (head === undefined || over ? undefined : { ...head, body: Buffer.concat(chunks, size) }),
  };
}
