/** A FunctionSpec with every default of the manifest, for tests that need one without a gust.yaml. */
import type { FunctionSpec } from '../../src/manifest/types.js';

export function testSpec(name: string, overrides: Partial<FunctionSpec> = {}): FunctionSpec {
  return {
    name,
    handler: { path: `${name}.mjs` },
    runtime: 'node',
    memoryMb: 128,
    timeoutMs: 3000,
    concurrency: 1,
    scale: { min: 0, max: 1, idleMs: 60_000 },
    env: {},
    secrets: [],
    permissions: [],
    events: 'cloudevents',
    input: null,
    retries: { max: 2, backoffMs: 1000, deadLetter: null },
    triggers: [],
    ...overrides,
  };
}
