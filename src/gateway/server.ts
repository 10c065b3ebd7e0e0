/**
 * server: the HTTP edge, where node:http meets the rest. It reads a request once (bodies over the
 * limit get 413 before any instance sees them), then hands it to the right door: health, the
 * control API, the Lambda Invoke API, or a function route.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GustError } from '../errors.js';
import { type EdgeHandler, type EdgeRequest, type EdgeResponse, errorResponse, json } from './http.js';

export interface GatewayDoors {
  readonly health: () => EdgeResponse;
  readonly controlApi: EdgeHandler;
  readonly lambdaApi: EdgeHandler;
  /** Function routes write to the socket themselves: their answers may stream. */
  readonly functions: (req: EdgeRequest, res: ServerResponse) => Promise<void>;
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
    this.server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
      void this.handle(req, res).catch((e: unknown) => {
        this.opts.onError(e);
        if (!res.headersSent) write(res, errorResponse(e));
        else res.destroy();
      });
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
    if (pathname === '/_gust/healthz') return write(res, this.doors.health());
    if (this.closing) return write(res, errorResponse(new GustError('UNAVAILABLE', 'Gust is shutting down')));
    const read = readBody(req, this.opts.maxBodyBytes);
    const body = Buffer.isBuffer(read) ? read : await read;
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
    if (pathname.startsWith('/_gust/')) {
      return write(
        res,
        json(404, { error: { code: 'NOT_FOUND', message: `no such Gust endpoint: ${pathname}` } }),
      );
    }
    if (pathname.startsWith('/2015-03-31/')) return write(res, await this.doors.lambdaApi(edge));
    return this.doors.functions(edge, res);
  }
}

const EMPTY = Buffer.alloc(0);

/** The whole body, or undefined when it is over the limit (the rest is discarded, unread). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> | Buffer {
  // Without a length or chunked encoding, HTTP/1.1 has no body: nothing to wait for.
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined)
    return EMPTY;
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
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
    req.on('error', reject);
  });
}

export function write(res: ServerResponse, r: EdgeResponse): void {
  res.writeHead(r.status, r.headers);
  res.end(r.body);
}
