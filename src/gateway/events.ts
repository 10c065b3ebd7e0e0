/**
 * events: `POST /_gust/events/TOPIC`, CloudEvents over HTTP into a topic (binary, structured and
 * batch modes; events/ingress.ts reads them). A key of scope invoke (or admin) is needed. The
 * answer is 202 once every event is durable for every subscriber; a full queue is 429, and then
 * none of the batch was published.
 */
import { authorize, type Keys } from '../control/keys.js';
import { GustError } from '../errors.js';
import { readCloudEvents } from '../events/ingress.js';
import { traceFrom } from '../observe/trace-context.js';
import type { Topics } from '../services/topics.js';
import { authenticate } from './auth.js';
import { type EdgeHandler, errorResponse, header, json } from './http.js';

export const EVENTS_PREFIX = '/_gust/events/';

export function eventsDoor(deps: { readonly keys: Keys; readonly topics: Topics }): EdgeHandler {
  return async (req) => {
    try {
      if (req.method !== 'POST') {
        throw new GustError(
          'METHOD_NOT_ALLOWED',
          `${req.method} is not allowed: POST CloudEvents to ${req.pathname}`,
        );
      }
      const topic = decodeURIComponent(req.pathname.slice(EVENTS_PREFIX.length));
      if (topic === '' || topic.includes('/')) {
        throw new GustError('NOT_FOUND', `POST CloudEvents to ${EVENTS_PREFIX}TOPIC, one topic a request`);
      }
      authorize(await authenticate(req, deps.keys, { sigv4: false }), { scope: 'invoke' });
      const read = readCloudEvents({ headers: req.headers, body: req.body });
      if (!read.ok) {
        const code = (
          { 400: 'BAD_REQUEST', 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE' } as const
        )[read.status];
        const res = json(read.status, { error: { code, message: read.message } });
        return res;
      }
      const published = await deps.topics.publish(topic, read.events, traceFrom(header(req, 'traceparent')));
      return json(202, {
        topic,
        accepted: read.events.length,
        ids: published.ids,
        subscribers: published.subscribers,
      });
    } catch (e) {
      if (e instanceof URIError)
        return errorResponse(new GustError('BAD_REQUEST', 'the topic name is not validly URL-encoded'));
      return errorResponse(e);
    }
  };
}
