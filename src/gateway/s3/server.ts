/**
 * s3/server: the S3 API's own port (`--s3-port`, GUST_S3_PORT, default 9000). Bodies are not read
 * here: each operation streams its own (an object may be gigabytes).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type S3Deps, s3Api } from './api.js';

export class S3Server {
  private readonly server: http.Server;

  constructor(
    private readonly opts: { host: string; port: number },
    deps: S3Deps,
  ) {
    const handle = s3Api(deps);
    // no limit on a whole request's time: a 5 GiB upload over a slow link takes long (the head
    // still has node's 60 s headersTimeout)
    this.server = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
      void handle(req, res).catch((e: unknown) => {
        deps.onError(e);
        res.destroy();
      });
    });
    // S3 clients send large heads (metadata); node's default of 2000 header lines is plenty
    this.server.maxHeadersCount = 0;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    return `http://${this.opts.host}:${port}`;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    await closed;
  }

  closeAll(): void {
    this.server.closeAllConnections();
  }
}
