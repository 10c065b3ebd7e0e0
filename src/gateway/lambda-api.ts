/**
 * lambda-api: the AWS Lambda Invoke API (POST /2015-03-31/functions/NAME/invocations), so the AWS
 * SDK's Lambda client, pointed at Gust, works: SigV4 or a bearer key; RequestResponse and DryRun;
 * answers and errors in AWS's shapes (a function error is a 200 with X-Amz-Function-Error).
 */
import type { RegistryStore } from '../backends/ports.js';
import { authorize, type Keys } from '../control/keys.js';
import { acceptInvocation } from '../dispatch/accept.js';
import type { Deliveries } from '../dispatch/deliveries.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import { eventInvocation } from '../dispatch/invocation.js';
import { GustError } from '../errors.js';
import { MAX_JSON_DEPTH, nestsTooDeep } from '../lib/json-depth.js';
import { inputErrors } from '../manifest/input.js';
import { traceFrom } from '../observe/trace-context.js';
import { authenticate } from './auth.js';
import { type EdgeHandler, type EdgeRequest, type EdgeResponse, header } from './http.js';

export interface LambdaApiDeps {
  readonly registry: RegistryStore;
  readonly dispatcher: Dispatcher;
  readonly deliveries: Deliveries;
  readonly keys: Keys;
  /** Why a function has no version (removed by --keep-versions, or never made): the 404's message. */
  readonly noVersion: (name: string, version: number) => Promise<string>;
}

const PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/;
const TAIL_BYTES = 4096;

/** `fields`: what the error's shape has besides its message (a throttle's `Reason`). */
function awsError(status: number, type: string, message: string, fields = {}): EdgeResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': type },
    body: JSON.stringify({ Type: status < 500 ? 'User' : 'Service', message, ...fields }),
  };
}

const AWS_TYPES: Partial<Record<GustError['code'], [number, string]>> = {
  THROTTLED: [429, 'TooManyRequestsException'],
  RATE_LIMITED: [429, 'TooManyRequestsException'],
  PAYLOAD_TOO_LARGE: [413, 'RequestEntityTooLargeException'],
  UNAUTHORIZED: [403, 'UnrecognizedClientException'],
  FORBIDDEN: [403, 'AccessDeniedException'],
};

const NAME_FORMS =
  'NAME[:QUALIFIER], ACCOUNT:function:NAME[:QUALIFIER] or arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]';

/**
 * `NAME`, `NAME:QUALIFIER`, a partial ARN (`ACCOUNT:function:NAME`) or a function ARN; the
 * `Qualifier` query wins. Anything else is refused, as AWS does, rather than half understood.
 * Throws URIError when the name is not validly percent-encoded.
 */
function target(
  rawName: string,
  query: URLSearchParams,
): { name: string; qualifier: string | undefined } | undefined {
  const parts = decodeURIComponent(rawName).split(':');
  let rest = parts;
  if (parts[0] === 'arn' && parts[2] === 'lambda' && parts[5] === 'function') rest = parts.slice(6);
  else if (parts[1] === 'function') rest = parts.slice(2);
  const [name, qualifier, ...extra] = rest;
  if (!name || qualifier === '' || extra.length > 0) return undefined;
  return { name, qualifier: query.get('Qualifier') ?? qualifier };
}

export function lambdaApi(deps: LambdaApiDeps): EdgeHandler {
  return async (req) => {
    const m = PATH.exec(req.pathname);
    if (!m || req.method !== 'POST') {
      return awsError(
        404,
        'UnknownOperationException',
        `Gust serves only the Invoke operation (POST /2015-03-31/functions/NAME/invocations)`,
      );
    }
    try {
      return await invoke(deps, req, m[1]!);
    } catch (e) {
      if (!(e instanceof GustError)) throw e;
      const [status, type] = AWS_TYPES[e.code] ?? [e.status, 'InvalidParameterValueException'];
      return awsError(status, type, e.message);
    }
  };
}

async function invoke(deps: LambdaApiDeps, req: EdgeRequest, rawName: string): Promise<EdgeResponse> {
  let found: ReturnType<typeof target>;
  try {
    found = target(rawName, new URLSearchParams(req.query));
  } catch {
    return awsError(400, 'InvalidParameterValueException', 'the function name is not validly URL-encoded');
  }
  if (!found) {
    return awsError(400, 'InvalidParameterValueException', `the function name must read ${NAME_FORMS}`);
  }
  const { name, qualifier } = found;
  const key = await authenticate(req, deps.keys, { sigv4: 'lambda' });
  authorize(key, { scope: 'invoke', function: name });
  const fn = await deps.registry.getFunction(name);
  if (!fn) return awsError(404, 'ResourceNotFoundException', `Function not found: ${name}`);
  // versions are whole numbers as written (`1e0` and ` 1` are no version); there are no aliases yet
  const version =
    qualifier === undefined || qualifier === '$LATEST'
      ? fn.activeVersion
      : /^[1-9][0-9]{0,14}$/.test(qualifier)
        ? Number(qualifier)
        : Number.NaN;
  // The active version exists by definition; only a named one is looked up (it parses a stored spec).
  const exists =
    version === fn.activeVersion || (await deps.registry.getVersion(name, version)) !== undefined;
  if (!Number.isInteger(version)) {
    return awsError(404, 'ResourceNotFoundException', `Function not found: ${name}:${qualifier}`);
  }
  if (!exists) {
    const why = await deps.noVersion(name, version);
    return awsError(404, 'ResourceNotFoundException', `Function not found: ${name}:${qualifier} (${why})`);
  }
  const type = header(req, 'x-amz-invocation-type') ?? 'RequestResponse';
  if (type === 'DryRun') return { status: 204, headers: { 'x-amz-executed-version': String(version) } };
  if (type !== 'RequestResponse' && type !== 'Event') {
    return awsError(
      400,
      'InvalidParameterValueException',
      `InvocationType must be RequestResponse, Event or DryRun (got ${type})`,
    );
  }
  let event: unknown = {};
  if (req.body.length > 0) {
    const text = req.body.toString('utf8');
    try {
      event = JSON.parse(text) as unknown;
    } catch {
      return awsError(
        400,
        'InvalidRequestContentException',
        'Could not parse request body into json: the payload must be JSON',
      );
    }
    if (nestsTooDeep(text)) {
      return awsError(
        400,
        'InvalidRequestContentException',
        `the payload nests arrays and objects over ${MAX_JSON_DEPTH} deep`,
      );
    }
  }
  const spec =
    version === fn.activeVersion
      ? deps.dispatcher.activeSpec(name)
      : (await deps.registry.getVersion(name, version))?.spec;
  const invalid = inputErrors(spec?.input, event);
  if (invalid.length > 0) {
    return awsError(
      400,
      'InvalidRequestContentException',
      `the payload does not match the input schema: ${invalid.join('; ')}`,
    );
  }
  if (type === 'Event') {
    // As on AWS: 202 once the event is queued, with its id; the function runs later, retried on failure.
    const id = await acceptInvocation(deps.deliveries, {
      function: name,
      trigger: 'lambda-api',
      trace: traceFrom(header(req, 'traceparent')),
      data: event,
    });
    return {
      status: 202,
      headers: {
        'x-amzn-requestid': id,
        'x-gust-invocation-id': id,
        'x-amz-executed-version': String(version),
      },
    };
  }
  const inv = eventInvocation({
    function: name,
    version,
    trigger: 'lambda-api',
    trace: traceFrom(header(req, 'traceparent')),
    event,
  });
  const { id } = inv;
  const { record, outcome } = await deps.dispatcher.invoke(inv);
  if (outcome.type === 'throttled')
    return awsError(429, 'TooManyRequestsException', `Rate exceeded: ${outcome.reason}`);
  if (outcome.type === 'rejected' && outcome.budget) {
    // What AWS answers a function capped by a reserved concurrency of 0, the way its users cap
    // spend, with a Reason of its own. No Retry-After: the SDK would wait for it on each of its
    // retries (some seconds: it caps the header), for a budget that comes back next month only.
    return awsError(429, 'TooManyRequestsException', outcome.reason, { Reason: 'BudgetExceeded' });
  }
  if (outcome.type === 'rejected')
    return awsError(404, 'ResourceNotFoundException', `Function not found: ${name} (${outcome.reason})`);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-amz-executed-version': String(record.version),
    'x-amzn-requestid': id,
  };
  if (header(req, 'x-amz-log-type') === 'Tail') {
    headers['x-amz-log-result'] = Buffer.from(record.logs.slice(-TAIL_BYTES)).toString('base64');
  }
  if (outcome.type === 'ok') return { status: 200, headers, body: outcome.json ?? 'null' };
  headers['x-amz-function-error'] = 'Unhandled';
  const errorType =
    outcome.type === 'error'
      ? outcome.error.name
      : outcome.type === 'timeout'
        ? 'Sandbox.Timedout'
        : 'Runtime.ExitError';
  const stack =
    outcome.type === 'error'
      ? (outcome.error.stack
          ?.split('\n')
          .slice(1)
          .map((l) => l.trim()) ?? [])
      : [];
  return {
    status: 200,
    headers,
    // as AWS: the type in errorType, the message alone in errorMessage
    body: JSON.stringify({
      errorType,
      errorMessage: outcome.type === 'error' ? outcome.error.message : record.error,
      trace: stack,
    }),
  };
}
