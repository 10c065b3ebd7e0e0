/** hello: the warm hello function the throughput benches measure, one instance kept (scale.min 1). */
import { apiGet, startGust, writeProject } from './gust.mjs';

export const HELLO_PROJECT = {
  'hello.mjs': "export default async function () {\n  return Response.json({ hello: 'world' });\n}\n",
  'gust.yaml': `functions:
  hello:
    handler: hello.mjs
    concurrency: 100
    scale: { min: 1, max: 1 }
    triggers:
      - http: { path: /hello, methods: [GET] }
`,
};

/** A platform serving the hello function, once its instance is warm (`GET {url}/hello`). */
export async function warmHello(env, { dataDir } = {}) {
  const g = await startGust({ dir: await writeProject(HELLO_PROJECT), env, ...(dataDir ? { dataDir } : {}) });
  const deadline = Date.now() + 30_000;
  while ((await apiGet(g, '/functions/hello')).instances !== 1) {
    if (Date.now() > deadline) throw new Error('hello has no warm instance after 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return g;
}
