import type { Context } from 'gust';

interface Turn {
  readonly from: 'user' | 'bot';
  readonly text: string;
}

const KEEP = 20;

/**
 * POST /chat {"message": "..."} with an invoke key (auth: key): each key is a user, whose
 * conversation is kept in KV (the last 20 turns, for a day). The platform passes the key's id, never
 * the key, in x-gust-key-id; each key has its own rate limit (gust keys create --rate 10/m).
 */
export default async function (req: Request, ctx: Context): Promise<Response> {
  const user = req.headers.get('x-gust-key-id');
  if (user === null) return Response.json({ message: 'call /chat with a key' }, { status: 401 });
  const { message } = (await req.json()) as { message: string };
  const history = ctx.kv('conversations');
  const before = JSON.parse((await history.get(user)) ?? '[]') as Turn[];
  const reply = answer(message, before);
  const after = [...before, { from: 'user', text: message }, { from: 'bot', text: reply }] as Turn[];
  await history.put(user, JSON.stringify(after.slice(-KEEP)), { ttl: 24 * 3600 });
  return Response.json({ reply, turns: after.length });
}

/** A bot of few words: it remembers what you told it. */
function answer(message: string, before: readonly Turn[]): string {
  const name = /my name is (\w+)/i.exec(message)?.[1];
  if (name) return `Nice to meet you, ${name}.`;
  if (/what is my name/i.test(message)) {
    const told = before.map((t) => /my name is (\w+)/i.exec(t.text)?.[1]).find(Boolean);
    return told ? `You are ${told}.` : 'You have not told me.';
  }
  const said = before.filter((t) => t.from === 'user').length;
  return `You said "${message}". That is message ${said + 1} of our conversation.`;
}
