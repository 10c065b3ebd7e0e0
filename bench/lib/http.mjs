/** http: one request on a fresh connection, timed to the first byte of the answer. */
import http from 'node:http';

/** `{ttfbMs, status, headers, body}`; ttfbMs runs from the call to the first byte received. */
export function timedGet(url, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let ttfbMs;
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({
          ttfbMs,
          status: res.statusCode,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on('error', reject);
    });
    // The first byte, not the parsed head: the socket's first data event.
    req.on('socket', (socket) => socket.once('data', () => (ttfbMs ??= performance.now() - started)));
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} in ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}
