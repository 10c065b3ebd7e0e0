/**
 * order: events that must run one at a time and in queue order, by key (a postgres trigger's
 * table). The first event of a key to start owns it until it is settled (ran ok, dead-lettered or
 * dropped); a retry keeps it owned, so the failing event runs again before any later one of its key.
 * Later events of an owned key wait here, claimed (their leases extended with the others), and start
 * one by one as the key frees. Memory only: after a restart, an event still waiting for its retry
 * can be overtaken by later ones of its key that are ready first.
 */
export class OrderKeys<T> {
  private readonly keys = new Map<string, { owner: string; held: { id: string; item: T }[] }>();

  /** Whether event `id` of `key` may start now; if not, `item` is held until the key is free. */
  admit(key: string, id: string, item: T): boolean {
    const k = this.keys.get(key);
    if (k === undefined) {
      this.keys.set(key, { owner: id, held: [] });
      return true;
    }
    if (k.owner === id) return true; // its own retry
    k.held.push({ id, item });
    return false;
  }

  /** Event `id` of `key` is settled: the next held item, which now owns the key, if any. */
  release(key: string, id: string): T | undefined {
    const k = this.keys.get(key);
    if (k?.owner !== id) return undefined;
    const next = k.held.shift();
    if (next === undefined) {
      this.keys.delete(key);
      return undefined;
    }
    k.owner = next.id;
    return next.item;
  }

  /** Every held item, forgotten here (the consumer stops and gives them back). */
  drain(): T[] {
    const all = [...this.keys.values()].flatMap((k) => k.held.map((h) => h.item));
    this.keys.clear();
    return all;
  }
}
