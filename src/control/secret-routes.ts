/**
 * secret-routes: the control API's secrets (list, set, remove), each said with the deployed
 * functions that use it and how; a secret in use is not removed. Values never leave: not in an
 * answer, not in a log.
 */
import { GustError } from '../errors.js';
import type { FunctionSpec } from '../manifest/types.js';
import type { Secrets } from '../services/secrets.js';
import type { Route } from './api.js';
import { bodyOf } from './body.js';
import type { FunctionControl } from './functions.js';

/**
 * Who uses a secret, and how: `env`, the functions that declare it (they get it at each instance
 * start); `webhooks`, those whose webhook triggers verify with it (from the next delivery);
 * `connections`, those whose stream or postgres triggers connect with it (from their next connection).
 */
export function usesOfSecret(
  specs: readonly FunctionSpec[],
  name: string,
): { env: string[]; webhooks: string[]; connections: string[] } {
  const users = (uses: (spec: FunctionSpec) => boolean) => specs.filter(uses).map((s) => s.name);
  return {
    env: users((s) => s.secrets.includes(name)),
    webhooks: users((s) => s.triggers.some((t) => t.type === 'webhook' && t.secret === name)),
    connections: users((s) =>
      s.triggers.some((t) => (t.type === 'stream' || t.type === 'postgres') && t.connection === name),
    ),
  };
}

/** Every deployed function that uses a secret, one way or another. */
export function usersOfSecret(specs: readonly FunctionSpec[], name: string): string[] {
  const { env, webhooks, connections } = usesOfSecret(specs, name);
  return [...new Set([...env, ...webhooks, ...connections])].sort();
}

export function secretRoutes(deps: {
  readonly control: Pick<FunctionControl, 'activeSpecs'>;
  readonly secrets: Secrets;
}): Route[] {
  const { control, secrets } = deps;
  return [
    [
      'GET',
      '/secrets',
      'admin',
      async () => {
        const specs = await control.activeSpecs();
        return { secrets: secrets.list().map((s) => ({ ...s, usedBy: usersOfSecret(specs, s.name) })) };
      },
    ],
    [
      'PUT',
      '/secrets/:secret',
      'admin',
      async ({ req, params }) => {
        const { value } = bodyOf(req, ['value']);
        if (typeof value !== 'string') throw new GustError('BAD_REQUEST', 'value must be a string');
        const name = params.secret!;
        const { created } = await secrets.set(name, value);
        const specs = await control.activeSpecs();
        return { name, created, usedBy: usersOfSecret(specs, name), ...usesOfSecret(specs, name) };
      },
    ],
    [
      'DELETE',
      '/secrets/:secret',
      'admin',
      async ({ params }) => {
        const name = params.secret!;
        const users = usersOfSecret(await control.activeSpecs(), name);
        if (users.length > 0) {
          throw new GustError(
            'CONFLICT',
            `${name} is used by ${users.join(', ')}: take it out of their gust.yaml (secrets, a webhook secret, a stream or postgres connection) and deploy first`,
          );
        }
        if (!(await secrets.remove(name))) {
          throw new GustError('NOT_FOUND', `no secret ${name}: gust secrets ls lists them`);
        }
        return { removed: name };
      },
    ],
  ];
}
