/**
 * metrics: `GET /_gust/metrics`, Prometheus text (observe/metrics.ts). A key of scope metrics (or
 * admin) is needed: the names of functions and their traffic are not for anyone who can reach the
 * port. A metrics key does nothing else (control/keys.ts authorize). With metrics off
 * (`GUST_METRICS=off`), 404 that says so.
 */
import { authorize, type Keys } from '../control/keys.js';
import { GustError } from '../errors.js';
import type { Metrics } from '../observe/metrics.js';
import { authenticate } from './auth.js';
import { type EdgeHandler, errorResponse } from './http.js';

export const METRICS_PATH = '/_gust/metrics';

export function metricsDoor(deps: {
  readonly keys: Keys;
  readonly metrics: Metrics | undefined;
}): EdgeHandler {
  return async (req) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        throw new GustError('METHOD_NOT_ALLOWED', `${req.method} is not allowed: GET ${METRICS_PATH}`);
      }
      authorize(await authenticate(req, deps.keys, { sigv4: false }), { scope: 'metrics' });
      if (deps.metrics === undefined) {
        throw new GustError(
          'NOT_FOUND',
          'metrics are off on this platform (GUST_METRICS=off or --no-metrics): start it without them',
        );
      }
      const body = await deps.metrics.text();
      return {
        status: 200,
        headers: { 'content-type': deps.metrics.contentType, 'cache-control': 'no-store' },
        body: req.method === 'HEAD' ? '' : body,
      };
    } catch (e) {
      return errorResponse(e);
    }
  };
}
