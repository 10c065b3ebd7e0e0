import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  api,
  deployProject,
  type Gust,
  type InvocationRecord,
  livePids,
  MODES,
  type Mode,
  records,
  startGust,
  WAIT,
} from '../helpers/gust.js';

/**
 * Functions that try to take more than their share, run in both modes (as root: a memory cgroup
 * per instance; as nobody: RLIMIT_DATA), and `egress: none`. Each failure ends its own invocation
 * while the platform and a normal function keep answering.
 */
const SOURCES: Record<string, { source: string; extra?: string }> = {
  // 1.5 GB of Buffers, touched, for a function of 128 MB: the heap limit alone would not see them.
  bomb: {
    extra: 'memory: 128\n    timeout: 30s\n',
    source: `const kept: Buffer[] = [];
export default async () => {
  for (let i = 0; i < 30; i++) kept.push(Buffer.alloc(50 * 1024 * 1024, 1));
  return new Response('held ' + kept.length * 50 + ' MB');
};`,
  },
  spin: { extra: 'timeout: 1s\n', source: 'export default async () => { for (;;) {} };' },
  // answers, and leaves a loop running behind it
  leftover: {
    extra: 'timeout: 5s\n    scale: { idle: 10m }\n',
    source:
      'export default async () => { setTimeout(() => { for (;;) {} }, 50); return new Response("answered"); };',
  },
  chatty: {
    source: `export default async () => {
  const line = 'x'.repeat(1000);
  for (let i = 0; i < 20_000; i++) console.log(line);
  return new Response('said 20 MB');
};`,
  },
  huge: {
    extra: 'memory: 512\n',
    source: `export default async () => new Response(new Uint8Array(64 * 1024 * 1024).fill(120));`,
  },
  timers: {
    extra: 'memory: 256\n',
    source: `export default async () => {
  for (let i = 0; i < 1_000_000; i++) setTimeout(() => {}, 3_600_000);
  return new Response('a million timers');
};`,
  },
  offline: {
    extra: 'egress: none\n',
    source: `import net from 'node:net';
export default async (req: Request) => {
  const port = new URL(req.url).searchParams.get('port');
  const tryFetch = () => fetch('http://127.0.0.1:' + port + '/_gust/healthz').then(
    (r) => 'status ' + r.status,
    (e) => 'failed: ' + (e.cause?.code ?? e.message),
  );
  const tryConnect = () => new Promise((resolve) => {
    const s = net.connect(Number(port), '127.0.0.1', () => { s.destroy(); resolve('connected'); });
    s.on('error', (e: NodeJS.ErrnoException) => resolve('failed: ' + e.code));
  });
  const tryDns = () => import('node:dns').then((dns) => dns.promises.lookup('localhost')).then(
    (a) => 'resolved ' + a.address,
    (e) => 'failed: ' + e.code,
  );
  return Response.json({ fetch: await tryFetch(), connect: await tryConnect(), dns: await tryDns() });
};`,
  },
  other: { source: `export default async () => new Response('other is fine');` },
};
// Same code as offline, egress left open (the default).
SOURCES.online = { source: SOURCES.offline!.source };

async function lastRecord(g: Gust, fn: string): Promise<InvocationRecord> {
  const [record] = await records(g, fn, 1);
  if (!record) throw new Error(`${fn} has no invocation record`);
  return record;
}

/** The platform's memory cgroup folder (v1), where it makes its groups; undefined when it has none. */
async function cgroupBase(pid: number): Promise<string | undefined> {
  const self = await readFile(`/proc/${pid}/cgroup`, 'utf8');
  const line = self.split('\n').find((l) => l.split(':')[1]?.split(',').includes('memory'));
  const base = line && path.join('/sys/fs/cgroup/memory', line.split(':').slice(2).join(':'));
  return base && existsSync(base) ? base : undefined;
}

const groupsOf = async (base: string, pid: number) =>
  (await readdir(base)).filter((n) => n.startsWith(`gust-${pid}-`));

describe.each(MODES)('functions past their limits, the platform running $name', (mode: Mode) => {
  let g: Gust;
  beforeAll(async () => {
    g = await startGust(mode.user ? { user: mode.user } : {});
    const files: Record<string, string> = {};
    let yaml = 'functions:\n';
    for (const [name, { source, extra }] of Object.entries(SOURCES)) {
      yaml += `  ${name}:\n    handler: src/${name}.ts\n${extra ? `    ${extra}` : ''}    triggers:\n      - http: { path: /${name} }\n`;
      files[`src/${name}.ts`] = source;
    }
    await deployProject(g, { 'gust.yaml': yaml, ...files });
  });
  afterAll(async () => {
    await g?.stop();
  });

  async function expectPlatformFine(): Promise<void> {
    expect(g.proc.exitCode).toBeNull();
    expect((await fetch(`${g.url}/_gust/healthz`)).status).toBe(200);
    expect(await (await fetch(`${g.url}/other`)).text()).toBe('other is fine');
  }

  it('a memory bomb of Buffers is stopped at the memory limit, not only the heap, and recorded so', async () => {
    const res = await fetch(`${g.url}/bomb`);
    const text = await res.text();
    expect(res.status, text).not.toBe(200);
    const record = await lastRecord(g, 'bomb');
    if (mode.root) {
      // The cgroup's OOM killer: the whole process, recorded as out of memory.
      expect(res.status).toBe(502);
      expect(record.status).toBe('crashed');
      expect(record.error).toMatch(/^out of memory: the function went past its 128 MB memory limit/);
    } else {
      // RLIMIT_DATA: the allocation past the limit fails inside the function (or aborts it).
      expect(['error', 'crashed']).toContain(record.status);
      expect(record.error).toMatch(/Array buffer allocation failed|out of memory/);
    }
    await expectPlatformFine();
    // The next call gets a fresh instance, which fails the same way: nothing leaked into the platform.
    expect((await fetch(`${g.url}/bomb`)).status).not.toBe(200);
    await expectPlatformFine();
  });

  it.runIf(mode.root)('each instance has a memory cgroup, removed when it dies', async () => {
    const base = await cgroupBase(g.proc.pid!);
    if (!base) return; // no memory controller on this machine: nothing to check
    const [mine] = await groupsOf(base, g.proc.pid!);
    expect(mine, 'the platform made no cgroup folder').toBeDefined();
    const dir = path.join(base, mine!);
    // Every live instance process is in a group of its own, limited to its memory plus headroom.
    const cells = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory());
    expect(cells.length).toBeGreaterThan(0);
    for (const cell of cells) {
      const limit = Number(await readFile(path.join(dir, cell.name, 'memory.limit_in_bytes'), 'utf8'));
      expect(limit).toBeLessThan(1024 * 1024 * 1024);
    }
    // The bomb's groups went with its instances: only live cells have one.
    await vi.waitFor(async () => {
      const live = await livePids(`${g.tmpDir}/gust-run-${g.proc.pid}-`);
      const groups = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory());
      expect(groups.length).toBeLessThanOrEqual(live.length);
    }, WAIT);
  });

  it('a CPU spin ends as timeout (504) and the platform carries on', async () => {
    const res = await fetch(`${g.url}/spin`);
    expect(res.status).toBe(504);
    expect((await lastRecord(g, 'spin')).status).toBe('timeout');
    await expectPlatformFine();
  });

  it('a loop left running after the answer stops its instance, and is not blamed on the next call', async () => {
    expect(await (await fetch(`${g.url}/leftover`)).text()).toBe('answered');
    const first = await lastRecord(g, 'leftover');
    expect(first.status).toBe('ok');
    // no call runs on it, yet it burns a CPU: it is stopped (scale.idle alone would keep it 10 min)
    await vi.waitFor(async () => {
      const fn = await api<{ instances: number }>(g, 'GET', '/functions/leftover');
      expect(fn.body.instances).toBe(0);
    }, WAIT);
    // the next call runs on a new instance, and gets its whole time
    expect(await (await fetch(`${g.url}/leftover`)).text()).toBe('answered');
    const next = await lastRecord(g, 'leftover');
    expect(next.status).toBe('ok');
    expect(next.instance).not.toBe(first.instance);
    await expectPlatformFine();
  });

  it('20 MB of console output is cut to the log limit and the invocation succeeds', async () => {
    const res = await fetch(`${g.url}/chatty`);
    expect(await res.text()).toBe('said 20 MB');
    const record = await lastRecord(g, 'chatty');
    expect(record.status).toBe('ok');
    expect(record.logs.length).toBeLessThan(90 * 1024);
    await expectPlatformFine();
  });

  it('a 64 MB response reaches the client whole', async () => {
    const res = await fetch(`${g.url}/huge`);
    const body = await res.arrayBuffer();
    expect(res.status).toBe(200);
    expect(body.byteLength).toBe(64 * 1024 * 1024);
    await expectPlatformFine();
  });

  it('a million timers left behind do not hold up the answer nor the platform', async () => {
    const res = await fetch(`${g.url}/timers`);
    expect(await res.text()).toBe('a million timers');
    await expectPlatformFine();
  });

  it('egress: none cannot reach the platform on 127.0.0.1, while a function with the default can', async () => {
    const port = new URL(g.url).port;
    const offline = (await (await fetch(`${g.url}/offline?port=${port}`)).json()) as Record<string, string>;
    expect(offline.fetch).toMatch(/^failed: /);
    expect(offline.connect).toMatch(/^failed: (ENETUNREACH|ECONNREFUSED|EACCES)/);
    const online = (await (await fetch(`${g.url}/online?port=${port}`)).json()) as Record<string, string>;
    expect(online.fetch).toBe('status 200');
    expect(online.connect).toBe('connected');
    await expectPlatformFine();
  });
});

describe.runIf(MODES[0]?.root)('memory cgroups of a platform', () => {
  it('are all removed at shutdown, and those of a dead platform at the next start', async () => {
    const self = await cgroupBase(process.pid);
    if (!self) return;
    // A folder left by a platform killed outright (pid 999999999 does not exist), with a group in it.
    const stale = path.join(self, 'gust-999999999-0badcafe');
    await mkdir(path.join(stale, 'i-stale'), { recursive: true });
    let g: Gust | undefined;
    try {
      g = await startGust();
      expect(existsSync(stale)).toBe(false);
      const base = (await cgroupBase(g.proc.pid!))!;
      expect(await groupsOf(base, g.proc.pid!)).toHaveLength(1);
      expect(await g.stop()).toBe(0);
      expect(await groupsOf(base, g.proc.pid!)).toEqual([]);
    } finally {
      await g?.stop();
      await rmdir(path.join(stale, 'i-stale')).catch(() => {});
      await rmdir(stale).catch(() => {});
    }
  });
});
