// A handler written for AWS Lambda behind an API Gateway HTTP API: it runs on Gust unmodified.
const orders = new Map([['42', { id: '42', item: 'umbrella', quantity: 1 }]]);

export const handler = async (event, context) => {
  const id = event.pathParameters?.id;
  console.log(`${event.requestContext.http.method} order ${id} (request ${context.awsRequestId})`);
  if (event.requestContext.http.method === 'PUT') {
    const body = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString() : event.body;
    let order;
    try {
      order = { ...JSON.parse(body ?? '{}'), id };
    } catch {
      return { statusCode: 400, body: JSON.stringify({ message: 'the body must be JSON' }) };
    }
    orders.set(id, order);
    return { statusCode: 201, headers: { 'content-type': 'application/json' }, body: JSON.stringify(order) };
  }
  const order = orders.get(id);
  if (!order) return { statusCode: 404, body: JSON.stringify({ message: `no order ${id}` }) };
  return order; // a plain object: 200 with a JSON body, as on AWS
};
