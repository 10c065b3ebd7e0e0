/**
 * Deploying as a team: projects own their functions, prune removes what gust.yaml dropped, rm
 * drains (or stops with --force), and a name used again never reuses a version number.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { gate } from '../helpers/gate.js';
import {
  api,
  BIN,
  CONFIG_HOME,
  cli,
  deploy,
  type Gust,
  type InvocationRecord,
  records,
  startGust,
  WAIT,
  writeProject,
} from '../helpers/gust.js';

let g: Gust;

beforeAll(async () => {
  g = await startGust();
});

afterAll(async () => {
  await g?.stop();
});

const says = (text: string) => `export default () => new Response(${JSON.stringify(text)});\n`;

/** A project folder named `folder` whose function NAME answers TEXT on /PATH. */
function project(folder: string, fns: Record<string, { path: string; text: string }>, head = '') {
  const yaml = Object.entries(fns)
    .map(
      ([name, f]) =>
        `  ${name}:\n    handler: ${name}.mjs\n    triggers:\n      - http: { path: ${f.path} }\n`,
    )
    .join('');
  const files: Record<string, string> = { 'gust.yaml': `${head}functions:\n${yaml}` };
  for (const [name, f] of Object.entries(fns)) files[`${name}.mjs`] = says(f.text);
  return writeProject(files, folder);
}

/**
 * `gust ARGS` on a pseudo-terminal (`script`), as a person runs it: ANSWER is typed once a question
 * ends in `[y/N]`; without one, the terminal's input is closed at once.
 */
function onTerminal(args: string, answer?: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', `${process.execPath} ${BIN} ${args}`, '/dev/null'], {
      env: {
        PATH: process.env.PATH ?? '',
        XDG_CONFIG_HOME: CONFIG_HOME,
        GUST_URL: g.url,
        GUST_API_KEY: g.key,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (answer !== undefined && out.includes('[y/N]')) child.stdin.end(`${answer}\n`);
    });
    if (answer === undefined) child.stdin.end();
    child.on('close', (code) => resolve({ code, out }));
  });
}

const get = async (path: string) => {
  const res = await fetch(`${g.url}${path}`);
  return { status: res.status, text: await res.text() };
};

interface Listed {
  name: string;
  project: string | null;
  version: number;
}

async function listed(): Promise<Listed[]> {
  const r = await api<{ functions: Listed[] }>(g, 'GET', '/functions');
  return r.body.functions;
}

describe('projects', () => {
  it('refuse a function another project owns, naming the owner and --adopt, then move it on purpose', async () => {
    const shop = await project('shop', { price: { path: '/price', text: 'shop price' } });
    const web = await project('web', { price: { path: '/price', text: 'web price' } });
    await deploy(g, shop);
    expect(await get('/price')).toEqual({ status: 200, text: 'shop price' });

    const refused = await cli(g, ['deploy', web]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('price (project shop)');
    expect(refused.stderr).toContain('--adopt');
    expect(refused.stderr).toContain('nothing was deployed');
    // nothing changed: shop's code still answers on its route
    expect(await get('/price')).toEqual({ status: 200, text: 'shop price' });
    expect((await listed()).find((f) => f.name === 'price')).toMatchObject({ project: 'shop', version: 1 });

    const adopted = await cli(g, ['deploy', web, '--adopt']);
    expect(adopted.code).toBe(0);
    expect(adopted.stdout).toMatch(/^price\s+v2\s+deployed \(moved from project shop\)$/m);
    expect(await get('/price')).toEqual({ status: 200, text: 'web price' });
    const ls = await cli(g, ['ls']);
    expect(ls.stdout).toMatch(/^price\s+web\s+v2\s/m);
  });

  it('take the project gust.yaml names over the folder name', async () => {
    const dir = await project(
      'some-folder',
      { named: { path: '/named', text: 'named' } },
      'project: team-a\n',
    );
    const r = await cli(g, ['deploy', dir, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ project: 'team-a', functions: [{ name: 'named' }] });
    expect((await listed()).find((f) => f.name === 'named')?.project).toBe('team-a');
    const text = await cli(g, ['deploy', dir]);
    expect(text.stdout.split('\n')[0]).toBe('project team-a');
  });

  it('say when the project is the folder name, and how the folder name was rewritten', async () => {
    const plain = await cli(g, ['deploy', await project('plain', { plain: { path: '/plain', text: 'p' } })]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout.split('\n')[0]).toBe(
      'project plain (from the folder name; set project: in gust.yaml to choose it)',
    );
    const odd = await cli(g, ['deploy', await project('My_Shop.v2', { odd: { path: '/odd', text: 'o' } })]);
    expect(odd.code, odd.stderr).toBe(0);
    expect(odd.stdout.split('\n')[0]).toBe(
      'project my-shop-v2 (from the folder name: My_Shop.v2 -> my-shop-v2; set project: in gust.yaml to choose it)',
    );
  });

  it('refuse a route that a function of another project serves, naming that project', async () => {
    await deploy(g, await project('owner', { holder: { path: '/held', text: 'held' } }));
    const r = await cli(g, ['deploy', await project('taker', { taker: { path: '/held', text: 'taken' } })]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('already served by function holder of project owner');
    expect(await get('/held')).toEqual({ status: 200, text: 'held' });
  });
});

describe('deploy --prune', () => {
  it('lists the functions gust.yaml dropped as left running, and removes them only with --prune', async () => {
    const both = await project('prunable', {
      keep: { path: '/keep', text: 'keep' },
      drop: { path: '/drop', text: 'drop' },
    });
    await deploy(g, both);
    const one = await project('prunable', { keep: { path: '/keep', text: 'keep' } });

    const left = await cli(g, ['deploy', one]);
    expect(left.code).toBe(0);
    expect(left.stdout).toMatch(
      /^drop\s+left running: not in gust\.yaml \(gust deploy --prune removes it\)$/m,
    );
    expect(await get('/drop')).toEqual({ status: 200, text: 'drop' });

    const pruned = await cli(g, ['deploy', one, '--prune', '--json']);
    expect(pruned.code).toBe(0);
    expect(JSON.parse(pruned.stdout)).toMatchObject({
      project: 'prunable',
      removed: ['drop'],
      leftRunning: [],
    });
    expect((await get('/drop')).status).toBe(404);
    expect(await get('/keep')).toEqual({ status: 200, text: 'keep' });
    expect((await listed()).map((f) => f.name)).not.toContain('drop');
  });

  it('frees the routes of what it removes for the functions it deploys', async () => {
    await deploy(g, await project('moving', { before: { path: '/moving', text: 'before' } }));
    const moved = await project('moving', { after: { path: '/moving', text: 'after' } });
    // without --prune, `before` stays and still holds the route
    expect((await cli(g, ['deploy', moved])).code).toBe(1);
    expect((await cli(g, ['deploy', moved, '--prune'])).code).toBe(0);
    expect(await get('/moving')).toEqual({ status: 200, text: 'after' });
  });

  it('asks on a terminal which functions of which project it removes, and deploys nothing unless yes', async () => {
    const three = await project('prompted', {
      stays: { path: '/p-keep', text: 'keep' },
      first: { path: '/p-first', text: 'first' },
      second: { path: '/p-second', text: 'second' },
    });
    await deploy(g, three);
    // another folder of the same name: the same project, which the question names
    const one = await project('prompted', { stays: { path: '/p-keep', text: 'keep v2' } });

    const no = await onTerminal(`deploy ${one} --prune`, 'n');
    expect(no.out).toContain(
      'Remove first and second of project prompted (from the folder name), which this gust.yaml does not declare? [y/N]',
    );
    expect(no.out).toContain(
      'gust: kept first and second: nothing was deployed (without --prune, gust deploy leaves them running)',
    );
    expect(no.out).not.toContain('uploading');
    expect(no.code).toBe(1);
    expect(await get('/p-first')).toEqual({ status: 200, text: 'first' });
    expect(await get('/p-keep')).toEqual({ status: 200, text: 'keep' });

    const yes = await onTerminal(`deploy ${one} --prune`, 'y');
    expect(yes.code).toBe(0);
    // on a terminal, progress is drawn on one line, rewritten in place
    expect(yes.out).toContain('\r\x1b[Kbundling 1/1 stays…');
    expect(yes.out).toContain('\r\x1b[Kuploading 1 kB to');
    expect(yes.out).toMatch(/^first\s+removed \(not in gust\.yaml\)\r?$/m);
    expect(yes.out).toMatch(/^second\s+removed \(not in gust\.yaml\)\r?$/m);
    expect((await get('/p-first')).status).toBe(404);
    expect(await get('/p-keep')).toEqual({ status: 200, text: 'keep v2' });
  });

  it('with --yes removes without asking, on a terminal too', async () => {
    await deploy(
      g,
      await project('unasked', { stay: { path: '/u-stay', text: 's' }, go: { path: '/u-go', text: 'g' } }),
    );
    const r = await onTerminal(
      `deploy ${await project('unasked', { stay: { path: '/u-stay', text: 's' } })} --prune --yes`,
    );
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('[y/N]');
    expect(r.out).toMatch(/^go\s+removed \(not in gust\.yaml\)\r?$/m);
    expect((await get('/u-go')).status).toBe(404);
  });

  it('leaves the functions of other projects alone', async () => {
    await deploy(g, await project('neighbour', { nb: { path: '/nb', text: 'nb' } }));
    await deploy(g, await project('lonely', { solo: { path: '/solo', text: 'solo' } }));
    const r = await cli(g, [
      'deploy',
      await project('lonely', { solo: { path: '/solo', text: 'solo' } }),
      '--prune',
    ]);
    expect(r.code).toBe(0);
    expect(await get('/nb')).toEqual({ status: 200, text: 'nb' });
  });
});

describe('shared topics and KV namespaces', () => {
  it('cannot be dropped by the project that declares them while another project uses them', async () => {
    const owner = (declare: boolean) =>
      writeProject(
        {
          'gust.yaml': `${declare ? 'topics: [shared-news, shared-dead]\nkv: [shared-kv]\n' : ''}functions:\n  publisher:\n    handler: p.mjs\n`,
          'p.mjs': says('p'),
        },
        'owner',
      );
    const user = await writeProject(
      {
        'gust.yaml': `functions:
  reader:
    handler: r.mjs
    permissions: [kv:shared-kv:read]
    retries: { deadLetter: shared-dead }
    triggers:
      - topic: { name: shared-news }
`,
        'r.mjs': says('r'),
      },
      'user',
    );
    await deploy(g, await owner(true));
    await deploy(g, user);
    const refused = await cli(g, ['deploy', await owner(false)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('stops declaring what deployed functions use; nothing was deployed');
    expect(refused.stderr).toContain(
      'topics: shared-news is still used by reader (functions.reader.triggers[0].topic.name)',
    );
    expect(refused.stderr).toContain(
      'topics: shared-dead is still used by reader (functions.reader.retries.deadLetter)',
    );
    expect(refused.stderr).toContain(
      'kv: shared-kv is still used by reader (functions.reader.permissions[0])',
    );
    const topics = await api<{ topics: { name: string }[] }>(g, 'GET', '/topics');
    expect(topics.body.topics.map((t) => t.name)).toContain('shared-news');
    // once nothing uses them, the owner may drop them
    expect((await cli(g, ['rm', 'reader', '--yes'])).code).toBe(0);
    expect((await cli(g, ['deploy', await owner(false)])).code).toBe(0);
    const after = await api<{ topics: { name: string }[] }>(g, 'GET', '/topics');
    expect(after.body.topics.map((t) => t.name)).not.toContain('shared-news');
  });
});

const STREAMER = `export default () => {
  const body = new ReadableStream({
    async start(c) {
      console.log('streaming started');
      c.enqueue(new TextEncoder().encode('first\\n'));
      await fetch(process.env.GATE);
      c.enqueue(new TextEncoder().encode('last\\n'));
      c.close();
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
};
`;

async function deployStreamer(name: string, gateUrl: string): Promise<void> {
  const dir = await writeProject(
    {
      'gust.yaml': `functions:\n  ${name}:\n    handler: s.mjs\n    env: { GATE: "${gateUrl}" }\n    triggers:\n      - http: { path: /${name} }\n`,
      's.mjs': STREAMER,
    },
    'streams',
  );
  await deploy(g, dir);
}

/** Starts a streamed call and resolves once its first chunk arrived, with a way to read the rest. */
async function streaming(path: string) {
  const res = await fetch(`${g.url}${path}`);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value);
  return {
    id: res.headers.get('x-gust-invocation-id')!,
    text: () => text,
    /** The rest of the body, or the error that cut it. */
    rest: async (): Promise<{ text: string; cut: boolean }> => {
      try {
        for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value);
        return { text, cut: false };
      } catch {
        return { text, cut: true };
      }
    },
  };
}

async function recordOf(fn: string, id: string): Promise<InvocationRecord> {
  let found: InvocationRecord | undefined;
  await vi.waitFor(async () => {
    found = (await records(g, fn)).find((r) => r.id === id);
    expect(found).toBeDefined();
  }, WAIT);
  return found!;
}

describe('gust rm', () => {
  it('lets a live stream finish before it stops the instance, and the record says ok', async () => {
    const door = await gate();
    try {
      await deployStreamer('drained', door.url);
      const call = await streaming('/drained');
      expect(call.text()).toBe('first\n');
      const removal = cli(g, ['rm', 'drained', '--yes']);
      // the function goes at once (its route with it), while the call in flight goes on
      await vi.waitFor(
        async () => expect((await api(g, 'GET', '/functions/drained')).status).toBe(404),
        WAIT,
      );
      expect((await get('/drained')).status).toBe(404);
      door.open();
      expect(await call.rest()).toEqual({ text: 'first\nlast\n', cut: false });
      const done = await removal;
      expect(done.code).toBe(0);
      expect(done.stdout).toMatch(/^removed drained \(project streams\): 1 call in flight finished first$/m);
      const record = await recordOf('drained', call.id);
      expect(record.status).toBe('ok');
    } finally {
      await door.close();
    }
  });

  it('with --force stops the stream at once and records the call as rejected', async () => {
    const door = await gate();
    try {
      await deployStreamer('forced', door.url);
      const call = await streaming('/forced');
      const done = await cli(g, ['rm', 'forced', '--force', '--yes']);
      expect(done.code).toBe(0);
      expect(done.stdout).toMatch(/stopped 1 call in flight \(recorded as rejected\)/);
      const rest = await call.rest();
      expect(rest.text).toBe('first\n'); // never got its last chunk
      const record = await recordOf('forced', call.id);
      expect(record.status).toBe('rejected');
      expect(record.error).toContain('gust rm --force');
      // what it printed before it was stopped is kept, and the time it ran; a call recorded
      // rejected is never billed (README, Usage and cost)
      expect(record.logs).toContain('streaming started');
      expect(record.durationMs).toBeGreaterThan(0);
      expect(record).toMatchObject({ billedMs: 0, gbSeconds: 0 });
    } finally {
      await door.close();
    }
  });

  it('says how many queued events it dropped with the function', async () => {
    const door = await gate();
    try {
      const dir = await writeProject(
        {
          'gust.yaml': `functions:\n  backlog:\n    handler: h.mjs\n    scale: { max: 1 }\n    env: { GATE: "${door.url}" }\n`,
          'h.mjs': 'export default async () => { await fetch(process.env.GATE); };\n',
        },
        'backlog',
      );
      await deploy(g, dir);
      for (let n = 0; n < 3; n++) expect((await cli(g, ['invoke', 'backlog', '--async'])).code).toBe(0);
      await vi.waitFor(() => expect(door.arrived()).toBe(1), WAIT); // one runs, two wait in its queue
      const done = await cli(g, ['rm', 'backlog', '--force', '--yes']);
      expect(done.code).toBe(0);
      expect(done.stdout).toBe(
        'removed backlog (project backlog): stopped 1 call in flight (recorded as rejected); 2 queued events that had not run dropped\n',
      );
    } finally {
      door.open();
      await door.close();
    }
  });

  it('with --force answers a whole (not streamed) call in flight 503, not as a missing route', async () => {
    const door = await gate();
    try {
      const dir = await writeProject(
        {
          'gust.yaml':
            'functions:\n  held:\n    handler: h.mjs\n    env: { GATE: "' +
            door.url +
            '"}\n    triggers:\n      - http: { path: /held-call }\n',
          'h.mjs':
            "export default async () => { console.log('holding'); await fetch(process.env.GATE); return new Response('late'); };\n",
        },
        'held',
      );
      await deploy(g, dir);
      const call = fetch(`${g.url}/held-call`);
      await vi.waitFor(() => expect(door.arrived()).toBe(1), WAIT);
      expect((await cli(g, ['rm', 'held', '--force', '--yes'])).code).toBe(0);
      const res = await call;
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAVAILABLE');
    } finally {
      await door.close();
    }
  });

  it('asks for confirmation on a terminal, and keeps the function when the answer is not yes', async () => {
    await deploy(g, await project('asked', { asked: { path: '/asked', text: 'still here' } }));
    const no = await onTerminal('rm asked', 'n');
    expect(no.out).toContain('Remove asked of project asked and its versions?');
    expect(no.out).toContain('kept asked: nothing was removed');
    expect(no.out).not.toContain('removing asked');
    expect(no.code).toBe(1);
    expect(await get('/asked')).toEqual({ status: 200, text: 'still here' });
    const yes = await onTerminal('rm asked', 'y');
    expect(yes.code).toBe(0);
    expect(yes.out).toContain('removing asked: calls in flight finish first (--force stops them)…');
    expect(yes.out).toContain('removed asked (project asked)');
    expect((await get('/asked')).status).toBe(404);
  });

  it('refuses a function that does not exist, exit 1, without saying it is removing it', async () => {
    const r = await cli(g, ['rm', 'never-was', '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('gust: no function named never-was: gust ls lists the deployed ones\n');
  });
});

describe('a name used again after rm', () => {
  it('never reuses a version number, and the old records keep their versions', async () => {
    const v1 = await project('reuse', { again: { path: '/again', text: 'old one' } });
    await deploy(g, v1);
    await deploy(g, await project('reuse', { again: { path: '/again', text: 'old two' } }));
    expect(await get('/again')).toEqual({ status: 200, text: 'old two' });
    const old = (await fetch(`${g.url}/again`)).headers.get('x-gust-invocation-id')!;
    expect((await cli(g, ['rm', 'again', '--yes'])).code).toBe(0);

    // the records of the removed function stay readable
    const kept = await cli(g, ['invocations', 'again', '--json']);
    expect(kept.code).toBe(0);
    expect(
      (JSON.parse(kept.stdout) as { invocations: InvocationRecord[] }).invocations.map((r) => r.id),
    ).toContain(old);

    await deploy(g, await project('reuse', { again: { path: '/again', text: 'new' } }));
    expect(await get('/again')).toEqual({ status: 200, text: 'new' });
    const versions = await api<{ versions: { version: number }[] }>(g, 'GET', '/functions/again/versions');
    expect(versions.body.versions.map((v) => v.version)).toEqual([3]);
    const all = await records(g, 'again');
    expect(all.find((r) => r.id === old)?.version).toBe(2);
    expect(all.filter((r) => r.version === 3)).toHaveLength(1);
  });
});

describe("the platform's log", () => {
  it('says what was deployed, rolled back and removed, as JSON lines when piped', async () => {
    const own = await startGust({ env: { GUST_LOG_LEVEL: 'info' } });
    try {
      await deploy(own, await project('logged', { noted: { path: '/noted', text: 'v1' } }));
      await deploy(own, await project('logged', { noted: { path: '/noted', text: 'v2' } }));
      expect((await cli(own, ['rollback', 'noted'])).code).toBe(0);
      expect((await cli(own, ['rm', 'noted', '--yes'])).code).toBe(0);
      const lines = own
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: 'deployed', project: 'logged', functions: ['noted v2'] }),
      );
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: 'rolled back', function: 'noted', version: 1 }),
      );
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: 'removed', function: 'noted', project: 'logged' }),
      );
    } finally {
      await own.stop();
    }
  });
});
