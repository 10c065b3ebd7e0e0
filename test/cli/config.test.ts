/**
 * The CLI from any folder: `gust up` records the local platform in $XDG_CONFIG_HOME/gust/,
 * `gust login` adds others (key on standard input), the environment still wins. Real platforms;
 * the config folder is a temporary one, never the real ~/.config.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type Gust, startGust, WAIT, writeProject } from '../helpers/gust.js';
import { closedUrl, gust, type RunOptions } from './helpers.js';

let tmp: string;
/** XDG_CONFIG_HOME of every run here. */
let home: string;
/** A folder that is neither the platform's nor the project's. */
let elsewhere: string;
let first: Gust;
let second: Gust | undefined;

const configFile = () => path.join(home, 'gust', 'config.json');
const readConfig = async () => JSON.parse(await readFile(configFile(), 'utf8')) as Record<string, unknown>;

/** `gust ARGS` from another folder, with no GUST_* set: only the config file tells where Gust is. */
function run(args: string[], options: RunOptions = {}) {
  return gust(args, { cwd: elsewhere, ...options, env: { XDG_CONFIG_HOME: home, ...options.env } });
}

const functionNames = async (options: RunOptions = {}) => {
  const r = await run(['ls', '--json'], options);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { functions: { name: string }[] }).functions.map((f) => f.name);
};

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'gust-cli-config-'));
  home = path.join(tmp, 'config');
  elsewhere = path.join(tmp, 'elsewhere');
  await mkdir(elsewhere);
  const project = await writeProject({
    'gust.yaml': 'functions:\n  hello:\n    handler: src/hello.mjs\n',
    'src/hello.mjs': "export async function handler() { return 'hi'; }\n",
  });
  first = await startGust({ dir: project, env: { XDG_CONFIG_HOME: home } });
});

afterAll(async () => {
  await first?.stop();
  await second?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe('the platform gust up recorded', () => {
  it('gust up records its URL and the path of its admin key, in a file only its user may read', async () => {
    expect(await readConfig()).toEqual({
      use: 'local',
      local: { url: first.url, keyFile: path.join(first.dataDir, 'admin.key'), dataDir: first.dataDir },
    });
    expect((await stat(configFile())).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(configFile()))).mode & 0o777).toBe(0o700);
  });

  it('the CLI from another folder, with no GUST_* set, finds the platform gust up recorded', async () => {
    expect(await functionNames()).toEqual(['hello']);
    const invoked = await run(['invoke', 'hello']);
    expect(invoked.code).toBe(0);
    expect(invoked.stdout).toBe('hi\n');
    // this machine's own platform: no line saying where commands went
    expect(invoked.stderr).not.toMatch(/^using /m);
  });

  it('GUST_URL and GUST_API_KEY still win over the config file', async () => {
    const nowhere = await closedUrl();
    const r = await run(['ls'], { env: { GUST_URL: nowhere } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(`cannot reach Gust at ${nowhere}`);
    const refused = await run(['ls'], { env: { GUST_API_KEY: 'gust_not_a_key' } });
    expect(refused.stderr).toMatch(/refused the key in GUST_API_KEY/);
  });
});

describe('gust login', () => {
  let deployKey: string;

  beforeAll(async () => {
    deployKey = (await api<{ key: string }>(first, 'POST', '/keys', { scope: 'deploy' })).body.key;
  });

  it('reads the key from standard input, checks it, saves it, and commands use it from then on', async () => {
    const login = await run(['login', first.url], { input: `${deployKey}\n` });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toMatch(`logged in to ${first.url}: gust commands go there now`);
    expect(await readConfig()).toMatchObject({ use: first.url, logins: { [first.url]: { key: deployKey } } });
    // the deploy key is the one sent now: it may list functions, not keys
    const keys = await run(['keys', 'ls']);
    expect(keys.code).toBe(1);
    expect(keys.stderr).toBe(
      `using ${first.url} (from gust login)\ngust: this deploy key cannot do that: it needs an admin key\n`,
    );
    expect(await functionNames()).toEqual(['hello']);
  });

  it('refuses a key the platform refuses, and saves nothing', async () => {
    const before = await readFile(configFile(), 'utf8');
    const login = await run(['login', `${first.url}/`], { input: 'gust_AAAAAAAAAAAAAAAA_wrong\n' });
    expect(login.code).toBe(1);
    expect(login.stderr).toBe(
      `gust: Gust at ${first.url} refused this key (mistyped, revoked or expired?); nothing was saved\n`,
    );
    expect(await readFile(configFile(), 'utf8')).toBe(before);
  });

  it('without a key, of a platform it does not know, is a usage error', async () => {
    const unknown = await closedUrl();
    const login = await run(['login', unknown]);
    expect(login.code).toBe(2);
    expect(login.stderr).toMatch(/^gust: no key on standard input: `gust login http:\/\/\S+ < key.txt`/);
  });

  it('gust up again makes its platform the one in use, and says which it leaves', async () => {
    second = await startGust({ env: { XDG_CONFIG_HOME: home } });
    // stderr is another pipe than the ready line's: it may come a moment later
    await expect
      .poll(() => second?.stderr(), WAIT)
      .toContain(`gust commands now use this platform, not ${first.url} (gust login)`);
    expect(await readConfig()).toMatchObject({ use: 'local', local: { url: second.url } });
    expect(await functionNames()).toEqual([]);
    expect((await run(['keys', 'ls'])).code).toBe(0);
  });

  it('without a key, goes back to a platform it knows: a previous login, or the local one', async () => {
    const back = await run(['login', first.url]);
    expect(back.code, back.stderr).toBe(0);
    expect(await functionNames()).toEqual(['hello']);
    const local = await run(['login', second!.url]);
    expect(local.code, local.stderr).toBe(0);
    expect(local.stdout).toMatch(`using the local platform at ${second!.url} again`);
    expect(await functionNames()).toEqual([]);
  });
});

describe('when things are not as recorded', () => {
  it('a local platform that has stopped is named, with how to start it again', async () => {
    await second!.stop();
    const r = await run(['ls']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `gust: cannot reach the local Gust at ${second!.url} (recorded by \`gust up\`): has it stopped? start it again with \`gust up --data ${second!.dataDir}\`\n`,
    );
  });

  it('a damaged config file is named, exit 2; commands that do not need it still run', async () => {
    const damaged = path.join(tmp, 'damaged');
    await mkdir(path.join(damaged, 'gust'), { recursive: true });
    await writeFile(path.join(damaged, 'gust', 'config.json'), '{"use": ');
    const r = await run(['ls'], { env: { XDG_CONFIG_HOME: damaged } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `^gust: ${path.join(damaged, 'gust', 'config.json')} is damaged: it is not valid JSON .*delete it`,
      ),
    );
    expect((await run(['--version'], { env: { XDG_CONFIG_HOME: damaged } })).code).toBe(0);
  });
});
