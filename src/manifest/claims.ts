/**
 * claims: the routes a manifest's http and webhook triggers claim, for the check that spans
 * functions and projects (route conflicts, in load.ts).
 */
import { isMap, keyPath } from './issues.js';
import { parseRoutePath, routeShape } from './route.js';
import { triggerSchema } from './triggers.js';
import type { HttpMethod, Trigger } from './types.js';

/** One http trigger as declared, kept for the check that spans functions (route conflicts). */
export interface RouteClaim {
  /** Names the trigger in errors: its key path `functions.api.triggers[0].http`, or any label. */
  readonly where: string;
  readonly path: string;
  /** Equal for two paths that serve the same URLs: see `routeShape`. */
  readonly shape: string;
  readonly methods: readonly HttpMethod[];
}

/** The route a valid http or webhook trigger serves (webhooks: POST only); `where` names it in errors. */
export function claimRoute(where: string, trigger: Trigger): RouteClaim[] {
  if (trigger.type !== 'http' && trigger.type !== 'webhook') return [];
  const parsed = parseRoutePath(trigger.path);
  if (!parsed.ok) return []; // validated triggers always parse
  const methods: readonly HttpMethod[] = trigger.type === 'http' ? trigger.methods : ['POST'];
  return [{ where, path: trigger.path, shape: routeShape(parsed.segments), methods }];
}

// zod gives no output for a document with errors, so a second, lenient walk finds the triggers;
// each is still judged by the trigger schema.
export function claimsOfDocument(raw: unknown): RouteClaim[] {
  const functions = isMap(raw) && isMap(raw.functions) ? Object.entries(raw.functions) : [];
  return functions.flatMap(([name, settings]) => {
    const triggers: unknown[] = isMap(settings) && Array.isArray(settings.triggers) ? settings.triggers : [];
    return triggers.flatMap((item, index) => {
      const trigger = triggerSchema.safeParse(item);
      if (!trigger.success) return [];
      return claimRoute(keyPath(['functions', name, 'triggers', index, trigger.data.type]), trigger.data);
    });
  });
}
