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

/**
 * A platform serving the hello function, once its instance is warm (`GET {url}/hello`); or another
 * `project`, once each of its `functions` has its warm instance. `tree`: another built Gust's.
 */
export async function warmHello(env, { dataDir, project = HELLO_PROJECT, functions = ['hello'], tree } = {}) {
  const g = await startGust({ dir: await writeProject(project), env, dataDir, tree });
  const deadline = Date.now() + 30_000;
  for (const name of functions) {
    while ((await apiGet(g, `/functions/${name}`)).instances !== 1) {
      if (Date.now() > deadline) throw new Error(`${name} has no warm instance after 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return g;
}
