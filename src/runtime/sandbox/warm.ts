/**
 * warm: a stem cell runs the request path a few times before it says it is ready, so that the
 * first invocation of a function does not pay for loading Node's fetch classes and for compiling
 * the code it goes through (measured: several milliseconds on the first call otherwise).
 */
import { decodeHost, encodeHost, encodeSandbox } from './codec.js';
import { fromLambdaResult, toApiGatewayV2Event } from './lambda-http.js';
import type { WireRequest } from './protocol.js';
import { readWebResponse, toWebRequest } from './web-http.js';

const ROUNDS = 20;

const sample: WireRequest = {
  method: 'POST',
  url: '/warm?x=1',
  headers: [
    ['host', 'localhost'],
    ['content-type', 'application/json'],
    ['cookie', 'a=1'],
  ],
  body: new TextEncoder().encode('{"warm":true}'),
  params: { id: 'warm' },
  routeKey: 'POST /warm',
  sourceIp: '127.0.0.1',
  protocol: 'HTTP/1.1',
  timeEpoch: Date.now(),
};

const ignore = { whole() {}, head() {}, chunk() {}, end() {} };

export async function warmUp(): Promise<void> {
  for (let i = 0; i < ROUNDS; i++) {
    const wire = decodeHost(
      JSON.parse(
        JSON.stringify(
          encodeHost({
            t: 'invoke',
            id: 'w',
            deadline: 0,
            traceparent: '00-00000000000000000000000000000001-0000000000000001-01',
            attempt: 1,
            kind: 'http',
            request: sample,
          }),
        ),
      ),
    );
    if (wire.t !== 'invoke' || wire.kind !== 'http') continue;
    const req = toWebRequest(wire.request, wire.traceparent);
    await req.json();
    await readWebResponse(Response.json({ ok: true, i }), ignore);
    const response = fromLambdaResult({
      statusCode: 200,
      body: JSON.stringify(
        toApiGatewayV2Event(wire.request, { requestId: 'w', traceparent: wire.traceparent }),
      ),
    });
    JSON.stringify(encodeSandbox({ t: 'result', id: 'w', response, logs: '' }));
  }
}
