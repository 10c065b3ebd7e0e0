/**
 * declared: names that projects declare in gust.yaml and every project shares (topics, KV
 * namespaces, later buckets). A name exists while at least one project declares it; a deploy
 * replaces what its project declares.
 */
export interface DeclarationStore {
  list(): Promise<{ readonly name: string; readonly projects: readonly string[] }[]>;
  declare(project: string, names: readonly string[]): Promise<void>;
}

export class Declared {
  private byName = new Map<string, readonly string[]>();

  constructor(private readonly store: DeclarationStore) {}

  async load(): Promise<void> {
    this.byName = new Map((await this.store.list()).map((d) => [d.name, d.projects]));
  }

  async declare(project: string, names: readonly string[]): Promise<void> {
    await this.store.declare(project, names);
    await this.load();
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The names that would exist were `project` to declare `names` (to check a deploy before it is made). */
  namesWith(project: string, names: readonly string[]): Set<string> {
    const known = new Set(names);
    for (const [name, projects] of this.byName) if (projects.some((p) => p !== project)) known.add(name);
    return known;
  }

  /** The names that exist now and would not, were `project` to declare `names` instead. */
  goneWith(project: string, names: readonly string[]): Set<string> {
    const after = this.namesWith(project, names);
    return new Set([...this.byName.keys()].filter((name) => !after.has(name)));
  }

  entries(): [name: string, projects: readonly string[]][] {
    return [...this.byName];
  }
}
