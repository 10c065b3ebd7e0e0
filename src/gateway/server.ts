/**
 * server: the HTTP edge, where node:http meets the rest. It reads a request once (bodies over the
 * limit get 413 before any instance sees them), then hands it to the right door: health, the
 * control API, the Lambda Invoke API, or a function route. What node:http refuses itself (bytes
 * that are not HTTP/1.1, a head over its size limit, CONNECT) gets a JSON error too.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { ERROR_CODES, GustError } from '../errors.js';
import { HTTP_METHODS } from '../manifest/schema.js';
import { isUiPath } from '../ui/door.js';
import { KEY_NEEDED } from './auth.js';
import { type EdgeHandler, type EdgeRequest, type EdgeResponse, errorResponse, json } from './http.js';
import { METRICS_PATH } from './metrics.js';

export interface GatewayDoors {
  readonly health: () => EdgeResponse;
  readonly controlApi: EdgeHandler;
  readonly lambdaApi: EdgeHandler;
  /** CloudEvents ingress into topics. */
  readonly events: EdgeHandler;
  /** Prometheus text at /_gust/metrics. */
  readonly metrics: EdgeHandler;
  /** The dashboard's files at /_gust/ui. */
  readonly ui: EdgeHandler;
  /** Function routes write to the socket themselves: their answers may stream. */
  readonly functions: (req: EdgeRequest, res: ServerResponse) => Promise<void>;
  /** The answer to a function request no route takes, given before its body is read. */
  readonly screenFunctions: (method: string, pathname: string) => EdgeResponse | undefined;
}

export interface GatewayOptions {
  readonly host: string;
  readonly port: number;
  readonly maxBodyBytes: number;
  readonly onError: (e: unknown) => void;
}

export class Gateway {
  private readonly server: http.Server;
  private closing = false;

  constructor(
    private readonly opts: GatewayOptions,
    private readonly doors: GatewayDoors,
  ) {
    // the Host check is ours (see handle): node's own answers it with an empty 400
    this.server = http.createServer({ keepAliveTimeout: 65_000, requireHostHeader: false }, (req, res) => {
      void this.handle(req, res).catch((e: unknown) => {
        // a caller's mistake is an answer, not a failure of Gust
        if (!(e instanceof GustError) || ERROR_CODES[e.code].kind === 'system') this.opts.onError(e);
        if (!res.headersSent) write(res, errorResponse(e));
        else res.destroy();
      });
    });
    // node keeps only the first 1000 headers: a Content-Length past them would go unseen and the
    // body be lost; the 16 KB limit on the head bounds their number anyway
    this.server.maxHeadersCount = 0;
    this.server.on('connect', (_req, socket: Duplex) => {
      const message = `CONNECT is not supported: Gust is not a proxy; use ${HTTP_METHODS.join(', ')}`;
      refuse(socket, 405, new GustError('METHOD_NOT_ALLOWED', message), { allow: HTTP_METHODS.join(', ') });
    });
    this.server.on('clientError', (e: NodeJS.ErrnoException & { reason?: string }, socket: Duplex) => {
      if (e.code === 'ECONNRESET') return socket.destroy();
      const [status, message] = clientErrorAnswer(e);
      refuse(socket, status, new GustError(status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', message));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    return `http://${this.opts.host}:${port}`;
  }

  /** Stops accepting; resolves once every connection is closed (see closeAll). */
  async close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    await closed;
  }

  /** Ends the connections still open: once in-flight work has drained. */
  closeAll(): void {
    this.server.closeAllConnections();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q < 0 ? url : url.slice(0, q);
    if (req.headers.host === undefined && req.httpVersion === '1.1') {
      res.setHeader('connection', 'close');
      return write(
        res,
        errorResponse(new GustError('BAD_REQUEST', 'an HTTP/1.1 request needs a Host header')),
      );
    }
    if (pathname === '/_gust/healthz') return write(res, this.doors.health());
    if (this.closing) return write(res, errorResponse(new GustError('UNAVAILABLE', 'Gust is shutting down')));
    if (
      pathname.startsWith('/_gust/') &&
      pathname !== METRICS_PATH &&
      !isUiPath(pathname) &&
      !pathname.startsWith('/_gust/api/') &&
      !pathname.startsWith('/_gust/events/')
    ) {
      return write(
        res,
        json(404, { error: { code: 'NOT_FOUND', message: `no such Gust endpoint: ${pathname}` } }),
      );
    }
    // A request with a body is refused from its head where it can be, before the body is buffered;
    // one without gets the same answers from its door (no second route lookup on the hot path).
    const early = hasBody(req) ? this.screen(req.method ?? 'GET', pathname, req) : undefined;
    if (early) {
      // The unread body would follow on the connection: closing it spares reading that.
      res.setHeader('connection', 'close');
      return write(res, early);
    }
    const read = readBody(req, this.opts.maxBodyBytes);
    const body = Buffer.isBuffer(read) ? read : await read;
    if (body === null) return; // the client left before its body was whole: nobody to answer
    if (body === undefined) {
      const limit = `${this.opts.maxBodyBytes / (1024 * 1024)} MB`;
      res.setHeader('connection', 'close');
      return write(
        res,
        errorResponse(new GustError('PAYLOAD_TOO_LARGE', `the request body is over ${limit}`)),
      );
    }
    const edge: EdgeRequest = {
      method: req.method ?? 'GET',
      url,
      pathname,
      query: q < 0 ? '' : url.slice(q + 1),
      headers: req.headers,
      body,
      sourceIp: req.socket.remoteAddress ?? '',
    };
    if (pathname.startsWith('/_gust/api/')) return write(res, await this.doors.controlApi(edge));
    if (pathname.startsWith('/_gust/events/')) return write(res, await this.doors.events(edge));
    if (pathname === METRICS_PATH) return write(res, await this.doors.metrics(edge));
    if (isUiPath(pathname)) return write(res, await this.doors.ui(edge));
    if (pathname.startsWith('/2015-03-31/')) return write(res, await this.doors.lambdaApi(edge));
    return this.doors.functions(edge, res);
  }

  private screen(method: string, pathname: string, req: IncomingMessage): EdgeResponse | undefined {
    if (
      pathname.startsWith('/_gust/api/') ||
      pathname.startsWith('/_gust/events/') ||
      pathname === METRICS_PATH
    ) {
      return req.headers.authorization === undefined
        ? errorResponse(new GustError('UNAUTHORIZED', KEY_NEEDED))
        : undefined;
    }
    if (pathname.startsWith('/2015-03-31/')) return undefined;
    return this.doors.screenFunctions(method, pathname);
  }
}

const EMPTY = Buffer.alloc(0);

/** Without a length or chunked encoding, HTTP/1.1 has no body: nothing to wait for. */
function hasBody(req: IncomingMessage): boolean {
  return req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
}

/**
 * The whole body; undefined when it is over the limit (the rest is discarded, unread); null when
 * the client closed the connection (or broke the chunked framing) before sending all of it.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined | null> | Buffer {
  // Without a length or chunked encoding, HTTP/1.1 has no body: nothing to wait for.
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined)
    return EMPTY;
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks, size)));
    // node:http answers a broken framing itself (clientError); a closed connection needs no answer
    req.on('error', () => resolve(null));
    req.on('close', () => resolve(null)); // after 'end', this changes nothing
  });
}

/** Status and message for a request node:http could not parse; statuses are the ones node answers. */
function clientErrorAnswer(e: NodeJS.ErrnoException & { reason?: string }): [number, string] {
  switch (e.code) {
    case 'HPE_HEADER_OVERFLOW':
      return [
        431,
        `the request line and headers are over ${http.maxHeaderSize / 1024} KB: shorten the URL or the headers`,
      ];
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return [413, 'the chunk extensions of the request body are too large'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'the request did not arrive in time: send the whole request without pausing'];
    case 'HPE_INVALID_METHOD':
      return [400, `the request method is not valid: use ${HTTP_METHODS.join(', ')} (in capitals)`];
    default:
      return [400, `the request is not valid HTTP/1.1: ${(e.reason ?? e.message).toLowerCase()}`];
  }
}

/**
 * Answers on a socket node:http has given up on, then closes it. As node itself does, it writes
 * only when no answer to an earlier request on the socket has begun: that would corrupt it.
 */
function refuse(
  socket: Duplex,
  status: number,
  error: GustError,
  headers: Record<string, string> = {},
): void {
  const current = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && !current?.headersSent) {
    const body = JSON.stringify(error.toJSON());
    const head = Object.entries({ 'content-type': 'application/json', ...headers })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${head}content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

export function write(res: ServerResponse, r: EdgeResponse): void {
  res.writeHead(r.status, r.headers);
  res.end(r.body);
}
