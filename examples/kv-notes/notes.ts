import type { Context } from 'gust';

interface Note {
  readonly id: string;
  readonly text: string;
  readonly updatedAt: string;
}

/**
 * A small REST service on KV: POST /notes creates, GET /notes lists (?cursor= pages),
 * GET|PUT|DELETE /notes/:id read, replace and delete. Bodies are checked by the `input` schema
 * in gust.yaml before this runs, so `text` is here and is a string.
 */
export default async function (req: Request, ctx: Context): Promise<Response> {
  const notes = ctx.kv('notes');
  const id = ctx.params.id;
  if (id === undefined) {
    if (req.method === 'POST') {
      const { text } = (await req.json()) as { text: string };
      const note: Note = { id: ctx.invocationId, text, updatedAt: new Date().toISOString() };
      await notes.put(note.id, JSON.stringify(note));
      return Response.json(note, { status: 201, headers: { location: `/notes/${note.id}` } });
    }
    const cursor = new URL(req.url).searchParams.get('cursor') ?? undefined;
    const page = await notes.list({ limit: 50, ...(cursor ? { cursor } : {}) });
    const items = await Promise.all(
      page.keys.map(async (k) => JSON.parse((await notes.get(k.name)) ?? 'null') as Note),
    );
    return Response.json({ notes: items.filter((n) => n !== null), cursor: page.cursor });
  }
  const stored = await notes.get(id);
  if (stored === null) return Response.json({ message: `no note ${id}` }, { status: 404 });
  if (req.method === 'GET') return new Response(stored, { headers: { 'content-type': 'application/json' } });
  if (req.method === 'DELETE') {
    await notes.delete(id);
    return new Response(null, { status: 204 });
  }
  // PUT: replace, only if nobody changed it meanwhile (compare-and-set)
  const { text } = (await req.json()) as { text: string };
  const note: Note = { id, text, updatedAt: new Date().toISOString() };
  if (!(await notes.cas(id, stored, JSON.stringify(note)))) {
    return Response.json({ message: 'the note changed meanwhile: read it again' }, { status: 409 });
  }
  return Response.json(note);
}
