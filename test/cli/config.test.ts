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
    const port = (url: string) => new URL(url).port;
    expect(await readConfig()).toEqual({
      use: 'local',
      local: {
        url: first.url,
        keyFile: path.join(first.dataDir, 'admin.key'),
        dataDir: first.dataDir,
        // started with --port 0 --s3-port 0: again on the ports it got
        restart: `gust up --data ${first.dataDir} --port ${port(first.url)} --s3-port ${port(first.s3Url)}`,
      },
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
    // first is the local platform of gust up: its own URL with a key is a login all the same
    expect(login.stdout).toMatch(
      `logged in to ${first.url}, the local platform of gust up, with this key: gust commands use it now`,
    );
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
    second = await startGust({
      env: {
        XDG_CONFIG_HOME: home,
        GUST_RETENTION: '2d',
        GUST_METRICS: 'off',
        GUST_PRICE_PER_GB_SECOND: '0.5',
      },
    });
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

  it("of the local platform's own URL: with a key it is a login, without one the local platform again", async () => {
    const key = (await api<{ key: string }>(second!, 'POST', '/keys', { scope: 'deploy' })).body.key;
    const withKey = await run(['login', second!.url], { input: `${key}\n` });
    expect(withKey.code, withKey.stderr).toBe(0);
    expect(withKey.stdout).toMatch(
      `logged in to ${second!.url}, the local platform of gust up, with this key: gust commands use it now`,
    );
    expect(withKey.stdout).toMatch(
      `\`gust login ${second!.url} < /dev/null\` goes back to its admin key file`,
    );
    expect(await readConfig()).toMatchObject({ use: second!.url });
    // the saved key is the one sent now: a deploy key, which may not list keys
    const keys = await run(['keys', 'ls']);
    expect(keys.stderr).toBe(
      `using ${second!.url} (from gust login)\ngust: this deploy key cannot do that: it needs an admin key\n`,
    );
    const back = await run(['login', second!.url]);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toMatch(`using the local platform at ${second!.url} again, with its admin key file`);
    expect(await readConfig()).toMatchObject({ use: 'local', local: { url: second!.url } });
    const admin = await run(['keys', 'ls']);
    expect(admin.code, admin.stderr).toBe(0);
    expect(admin.stderr).toBe('');
  });
});

describe('when things are not as recorded', () => {
  it('a local platform that has stopped is named, with how to start it again as it was started', async () => {
    await second!.stop();
    const r = await run(['ls']);
    expect(r.code).toBe(1);
    // started with --port 0, it got another port than 8080: started again without it, it would not be
    // there; the same for the S3 API, and what it kept, counted and cost
    const port = new URL(second!.url).port;
    const s3Port = new URL(second!.s3Url).port;
    expect(r.stderr).toBe(
      `gust: cannot reach the local Gust at ${second!.url} (recorded by \`gust up\` or \`gust dev\`): has it stopped? start it again with \`GUST_PRICE_PER_GB_SECOND=0.5 gust up --data ${second!.dataDir} --port ${port} --s3-port ${s3Port} --retention 2d --no-metrics\`\n`,
    );
  });

  it('a record gust up made before it kept its command still says how to start it again', async () => {
    const dir = path.join(tmp, 'old-record');
    await mkdir(path.join(dir, 'gust'), { recursive: true });
    const local = { url: 'http://127.0.0.1:1', keyFile: '/nowhere/admin.key', dataDir: '/var/gust' };
    await writeFile(path.join(dir, 'gust', 'config.json'), JSON.stringify({ use: 'local', local }));
    const r = await run(['ls'], { env: { XDG_CONFIG_HOME: dir } });
    expect(r.stderr).toMatch(/start it again with `gust up --data \/var\/gust --port 1`\n$/);
  });

  /** A config folder holding this config.json. */
  async function configHome(name: string, content: string): Promise<string> {
    const dir = path.join(tmp, name);
    await mkdir(path.join(dir, 'gust'), { recursive: true });
    await writeFile(path.join(dir, 'gust', 'config.json'), content);
    return dir;
  }

  it('a config file in use of a platform it holds no key for is CONFIG_INVALID, exit 2, and says how to fix it', async () => {
    const dir = await configHome('no-key', '{"use": "https://x.example"}');
    const r = await run(['ls'], { env: { XDG_CONFIG_HOME: dir } });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `gust: ${path.join(dir, 'gust', 'config.json')} says to use https://x.example, but holds no key for it: log in to it (\`gust login https://x.example\`, its key on standard input), or start a local platform with \`gust up\`\n`,
    );
    const json = await run(['ls', '--json'], { env: { XDG_CONFIG_HOME: dir } });
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'CONFIG_INVALID' } });
    const local = await configHome('no-local', '{"use": "local"}');
    const none = await run(['ls'], { env: { XDG_CONFIG_HOME: local } });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/says to use the local platform, but records none: start one with `gust up`/);
  });

  it('a config file that is not the object gust writes says what it holds, in its own terms', async () => {
    const array = await configHome('array', '[]');
    const r = await run(['ls'], { env: { XDG_CONFIG_HOME: array } });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `gust: ${path.join(array, 'gust', 'config.json')} is damaged: it holds an array, not the object gust writes ({"use", "local", "logins"}); fix it, or delete it (\`gust up\` and \`gust login\` write it again)\n`,
    );
    const field = await configHome(
      'field',
      '{"use": "local", "local": {"url": "http://127.0.0.1:1", "keyFile": 3}}',
    );
    const f = await run(['ls'], { env: { XDG_CONFIG_HOME: field } });
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/is damaged: local\.keyFile is a number, not a string; fix it/);
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
