import type { Context } from 'gust';

/** GET /hello, GET /hello/:name, POST /hello/:name with {"punctuation": "!"} */
export default async function (req: Request, ctx: Context): Promise<Response> {
  const name = ctx.params.name ?? new URL(req.url).searchParams.get('name') ?? 'world';
  let punctuation = '.';
  if (req.method === 'POST') {
    const body = (await req.json().catch(() => ({}))) as { punctuation?: unknown };
    if (typeof body.punctuation === 'string') punctuation = body.punctuation.slice(0, 3);
  }
  ctx.log.info('greeting', name);
  return Response.json({
    message: `${ctx.env.GREETING ?? 'Hello'}, ${name}${punctuation}`,
    invocation: ctx.invocationId,
  });
}
