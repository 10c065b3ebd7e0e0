/**
 * functions: the door of function routes. Route, check the key when the route wants one, build
 * the Invocation, dispatch, and write the answer: whole, or streamed as the function produces it.
 * A POST to a webhook trigger's path goes to the webhook door instead (it queues the delivery and
 * answers at once: triggers/webhook/door.ts).
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Keys } from '../control/keys.js';
import { authorize } from '../control/keys.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import { httpInvocation } from '../dispatch/invocation.js';
import { GustError } from '../errors.js';
import { inputErrors } from '../manifest/input.js';
import { traceFrom } from '../observe/trace-context.js';
import type { HttpSink, WireResponse } from '../runtime/types.js';
import type { WebhookDoor } from '../triggers/webhook/door.js';
import { authenticate } from './auth.js';
import { type EdgeRequest, type EdgeResponse, errorResponse, header, json, parseJsonBody } from './http.js';
import { failureResponse } from './outcome.js';
import type { RouteMatch, Router } from './router.js';
import { write } from './server.js';

export interface FunctionDoorDeps {
  readonly router: Router;
  readonly dispatcher: Dispatcher;
  readonly keys: Keys;
  readonly webhooks: WebhookDoor;
}

/** Hop-by-hop headers belong to one connection; Node sets its own framing. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade']);

export function functionDoor(
  deps: FunctionDoorDeps,
): (req: EdgeRequest, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const route = deps.router.match(req.method, req.pathname);
    if (route.type === 'webhook') return write(res, await deps.webhooks(req, route));
    if (route.type !== 'found') return write(res, refusal(route, req.method, req.pathname));
    let keyId: string | undefined;
    if (route.auth === 'key') {
      const key = await authenticate(req, deps.keys, { sigv4: false });
      authorize(key, { scope: 'invoke', function: route.function });
      keyId = key.id;
    }
    const invalid = checkInput(deps.dispatcher.activeSpec(route.function)?.input, req);
    if (invalid) return write(res, invalid);
    const inv = httpInvocation({
      function: route.function,
      trigger: 'http',
      trace: traceFrom(header(req, 'traceparent')),
      route,
      method: req.method,
      url: req.url,
      headers: wireHeaders(req.headers, keyId),
      body: req.body.length > 0 ? req.body : null,
      sourceIp: req.sourceIp,
    });
    const result = await deps.dispatcher.invoke(inv, streamTo(res, inv.id));
    const { outcome } = result;
    if (outcome.type === 'ok' && outcome.response) return writeWhole(res, outcome.response, inv);
    if (outcome.type === 'ok') return; // streamed
    if (res.headersSent) {
      res.destroy(); // a stream cut short: the client must not take it for a whole answer
      return;
    }
    write(res, failureResponse(result));
  };
}

/** No route, or not for this method: said before the body is read (see `screenRoutes`). */
function refusal(
  route: Exclude<RouteMatch, { type: 'found' | 'webhook' }>,
  method: string,
  pathname: string,
): EdgeResponse {
  if (route.type === 'notFound') {
    return json(404, { error: { code: 'NOT_FOUND', message: `no route for ${method} ${pathname}` } });
  }
  const message = `${method} is not allowed on ${pathname}; allowed: ${route.allow.join(', ')}`;
  return json(405, { error: { code: 'METHOD_NOT_ALLOWED', message } }, { allow: route.allow.join(', ') });
}

/** For the server: the answer to a request no route takes, before anyone reads its body. */
export function screenRoutes(router: Router): (method: string, pathname: string) => EdgeResponse | undefined {
  return (method, pathname) => {
    const route = router.match(method, pathname);
    return route.type === 'found' || route.type === 'webhook' ? undefined : refusal(route, method, pathname);
  };
}

function streamTo(res: ServerResponse, id: string): HttpSink {
  return {
    head: (status, headers) => {
      res.writeHead(status, flatHeaders(headers, id));
      res.flushHeaders();
    },
    chunk: (data) => res.write(data),
    end: () => res.end(),
    onClose: (listener) => {
      res.once('close', () => {
        if (!res.writableEnded) listener();
      });
    },
  };
}

/**
 * A Lambda-style result is not checked in the sandbox as a web Response is: its status may be
 * interim (1xx: the client would wait for an answer that never comes), its headers may not be HTTP.
 */
function writeWhole(res: ServerResponse, r: WireResponse, inv: { id: string; function: string }): void {
  if (r.status < 200) {
    write(res, unsendable(inv, `status ${r.status} is not a final answer (200 to 599)`));
    return;
  }
  const headers = flatHeaders(r.headers, inv.id);
  headers.push('content-length', String(r.body?.byteLength ?? 0));
  try {
    res.writeHead(r.status, headers);
  } catch (e) {
    res.statusMessage = ''; // writeHead set it before refusing a header: let the error's status pick its own
    write(res, unsendable(inv, (e as Error).message));
    return;
  }
  res.end(r.body ?? undefined);
}

function unsendable({ id, function: fn }: { id: string; function: string }, why: string): EdgeResponse {
  const message = `${fn} (invocation ${id}): its answer cannot be sent over HTTP: ${why}`;
  return json(
    500,
    { error: { code: 'FUNCTION_ERROR', message, invocationId: id } },
    { 'x-gust-invocation-id': id },
  );
}

function flatHeaders(pairs: WireResponse['headers'], id: string): string[] {
  const flat: string[] = [];
  for (const [k, v] of pairs) if (!HOP_BY_HOP.has(k.toLowerCase())) flat.push(k, v);
  flat.push('x-gust-invocation-id', id);
  return flat;
}

/** A route that checked a Gust key does not pass that key on to the function. */
/**
 * The request's headers as the function gets them. A route that checked a Gust key does not pass
 * the key on: it says whose it was in `x-gust-key-id` (which a client cannot set itself).
 */
function wireHeaders(headers: IncomingHttpHeaders, keyId: string | undefined): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || k === KEY_ID || (keyId !== undefined && k === 'authorization')) continue;
    if (Array.isArray(v)) for (const one of v) pairs.push([k, one]);
    else pairs.push([k, v]);
  }
  if (keyId !== undefined) pairs.push([KEY_ID, keyId]);
  return pairs;
}

const KEY_ID = 'x-gust-key-id';
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * A function with `input` gets only request bodies (of POST, PUT, PATCH) that are JSON matching
 * it: anything else is answered 400 with the schema's errors before any instance runs.
 */
function checkInput(
  input: Readonly<Record<string, unknown>> | null | undefined,
  req: EdgeRequest,
): EdgeResponse | undefined {
  if (input === null || input === undefined || !BODY_METHODS.has(req.method)) return undefined;
  let body: unknown;
  try {
    body = parseJsonBody(req) ?? null;
  } catch (e) {
    return errorResponse(e);
  }
  const errors = inputErrors(input, body);
  if (errors.length === 0) return undefined;
  return errorResponse(
    new GustError('BAD_REQUEST', 'the request body does not match the input schema; nothing ran', errors),
  );
}
