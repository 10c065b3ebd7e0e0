import { describe, expect, it } from 'vitest';
import { validateManifest } from '../../src/manifest/load.js';

// One rule per line: what is wrong, the document, and how its error starts (key path first).

type Case = [what: string, raw: unknown, expected: string];

const api = (settings: Record<string, unknown>) => ({ functions: { api: { handler: 'a.ts', ...settings } } });
const trigger = (item: unknown) => api({ triggers: [item] });
const http = (spec: unknown) => trigger({ http: spec });
const withTop = (extra: Record<string, unknown>) => ({ ...api({}), ...extra });

function expectError([, raw, expected]: Case): void {
  const result = validateManifest(raw);
  const errors = result.ok ? [] : result.errors;
  expect(
    errors.some((e) => e.startsWith(expected)),
    `${expected}\nnot in:\n${errors.join('\n')}`,
  ).toBe(true);
}

const NOT_YET = 'not supported yet by this version of Gust';
const WHOLE_MB = 'must be a whole number of MB from 64 to 10240';
const DURATION = 'must be a duration like 500ms, 30s, 5m or 1h, from 100ms to 15m';
const ENV_VALUE = 'must be a string, a number or true/false';

describe('rules of the document', () => {
  it.each<Case>([
    ['an empty document', null, 'the manifest is empty; start with functions: { hello:'],
    ['a list as the document', [], 'the manifest must be a map with a functions key (got a list)'],
    ['a string as the document', 'x', 'the manifest must be a map with a functions key (got "x")'],
    ['no functions', {}, 'functions: required: a map of function name to settings'],
    ['functions as a list', { functions: [] }, 'functions: must be a map of function name to settings'],
    ['an empty functions map', { functions: {} }, 'functions: must declare at least one function'],
    ['a bucket name S3 refuses', withTop({ buckets: ['Up_Load'] }), 'buckets[0]: must be a bucket name'],
    ['a kv namespace with a space', withTop({ kv: ['my jobs'] }), 'kv[0]: must be a KV namespace name'],
    ['a topic name with a space', withTop({ topics: ['a b'] }), 'topics[0]: must be a topic name'],
    ['topics as a string', withTop({ topics: 'done' }), 'topics: must be a list, like [orders, done]'],
    ['buckets as a map', withTop({ buckets: { a: 1 } }), 'buckets: must be a list, like [uploads, thumbs]'],
  ])('reports %s', (...c) => expectError(c));
});

describe('rules of a function', () => {
  it.each<Case>([
    ['an upper-case name', { functions: { Api: { handler: 'a.ts' } } }, 'functions.Api: function names are'],
    [
      'a name with a space',
      { functions: { 'a b': { handler: 'a.ts' } } },
      'functions["a b"]: function names',
    ],
    [
      'a name of 64 characters',
      { functions: { [`a${'b'.repeat(63)}`]: { handler: 'a.ts' } } },
      'functions.ab',
    ],
    [
      'a function given as a string',
      { functions: { api: 'a.ts' } },
      'functions.api: must be a map of settings',
    ],
    [
      'no handler',
      { functions: { api: { memory: 256 } } },
      'functions.api.handler: required: the file to run',
    ],
    [
      'an absolute handler',
      api({ handler: '/a.ts' }),
      'functions.api.handler: the file must be a path relative',
    ],
    [
      'a handler outside the folder',
      api({ handler: '../a.ts' }),
      'functions.api.handler: the file must be inside',
    ],
    [
      'a handler on a Windows drive',
      api({ handler: 'C:/a.ts' }),
      'functions.api.handler: the file must be a path',
    ],
    [
      'a Python handler',
      api({ handler: 'a.py' }),
      'functions.api.handler: the file must end with .ts, .mts, .js or',
    ],
    [
      'a bad export',
      api({ handler: 'a.ts#my-fn' }),
      'functions.api.handler: the export after # must be a JavaScript',
    ],
    ['an empty export', api({ handler: 'a.ts#' }), 'functions.api.handler: the export after # must be'],
    [
      'a number as handler',
      api({ handler: 42 }),
      'functions.api.handler: must be a string, like src/hello.ts',
    ],
    [
      'the isolate runtime',
      api({ runtime: 'isolate' }),
      `functions.api.runtime: isolate is ${NOT_YET}; use node`,
    ],
    ['an unknown runtime', api({ runtime: 'deno' }), 'functions.api.runtime: must be node (got "deno")'],
    [
      'an unknown events shape',
      api({ events: 'json' }),
      'functions.api.events: must be one of cloudevents, aws',
    ],
    [
      'an unknown egress',
      api({ egress: 'closed' }),
      'functions.api.egress: must be one of open, none (got "closed")',
    ],
    [
      'egress as a boolean',
      api({ egress: false }),
      'functions.api.egress: must be one of open, none (got false)',
    ],
    ['memory as a word', api({ memory: 'lots' }), `functions.api.memory: ${WHOLE_MB} (got "lots")`],
    ['memory below 64', api({ memory: 32 }), `functions.api.memory: ${WHOLE_MB} (got 32)`],
    ['memory above 10240', api({ memory: 10_241 }), `functions.api.memory: ${WHOLE_MB} (got 10241)`],
    ['memory with a unit', api({ memory: '512MB' }), `functions.api.memory: ${WHOLE_MB} (got "512MB")`],
    ['fractional memory', api({ memory: 128.5 }), `functions.api.memory: ${WHOLE_MB} (got 128.5)`],
    [
      'zero concurrency',
      api({ concurrency: 0 }),
      'functions.api.concurrency: must be a whole number from 1 to 1000',
    ],
    [
      'concurrency as text',
      api({ concurrency: '4' }),
      'functions.api.concurrency: must be a whole number from 1',
    ],
    [
      'a timeout without unit',
      api({ timeout: 30 }),
      `functions.api.timeout: ${DURATION} (got 30: add a unit, like 30s)`,
    ],
    ['a timeout in words', api({ timeout: 'soon' }), `functions.api.timeout: ${DURATION} (got "soon")`],
    [
      'a timeout under 100ms',
      api({ timeout: '99ms' }),
      'functions.api.timeout: must be from 100ms to 15m (got "99ms")',
    ],
    [
      'a timeout over 15m',
      api({ timeout: '16m' }),
      'functions.api.timeout: must be from 100ms to 15m (got "16m")',
    ],
    [
      'a secret name with a dash',
      api({ secrets: ['STRIPE-KEY'] }),
      'functions.api.secrets[0]: must be a secret name',
    ],
    ['secrets as a string', api({ secrets: 'STRIPE_KEY' }), 'functions.api.secrets: must be a list'],
    [
      'a secret named like an env variable',
      api({ env: { KEY: 'x' }, secrets: ['KEY'] }),
      'functions.api.secrets[0]: KEY is also in env',
    ],
    ['input that is not a map', api({ input: 'object' }), 'functions.api.input: must be a JSON Schema'],
    [
      'input that is not a JSON Schema',
      api({ input: { type: 'objekt' } }),
      'functions.api.input: is not a valid JSON Schema (draft 2020-12)',
    ],
    [
      'input with a misspelt keyword',
      api({ input: { type: 'object', requird: ['id'] } }),
      'functions.api.input: is not a valid JSON Schema (draft 2020-12): strict mode: unknown keyword: "requird"',
    ],
    [
      'retries past 10',
      api({ retries: { max: 11 } }),
      'functions.api.retries.max: must be a whole number of retries from 0 to 10',
    ],
    [
      'a retries backoff without unit',
      api({ retries: { backoff: 2 } }),
      'functions.api.retries.backoff: must be a duration',
    ],
    [
      'a dead letter topic with a space',
      api({ retries: { deadLetter: 'a b' } }),
      'functions.api.retries.deadLetter: must be a topic name',
    ],
    [
      'a dead letter topic the function subscribes to',
      api({ retries: { deadLetter: 'jobs' }, triggers: [{ topic: { name: 'jobs' } }] }),
      'functions.api.retries.deadLetter: jobs is a topic this function subscribes to (triggers[0]): its dead letters would come back to it for ever; name another topic',
    ],
    [
      'an unknown retries key',
      api({ retries: { maximum: 3 } }),
      'functions.api.retries.maximum: unknown key',
    ],
    [
      'a kv permission of no known access',
      api({ permissions: ['kv:jobs:delete'] }),
      'functions.api.permissions[0]: must be one of',
    ],
    [
      'a bucket trigger without a name',
      api({ triggers: [{ bucket: { on: ['created'] } }] }),
      'functions.api.triggers[0].bucket.name: required: a bucket name',
    ],
    [
      'a bucket trigger on what buckets do not do',
      api({ triggers: [{ bucket: { name: 'up', on: ['renamed'] } }] }),
      'functions.api.triggers[0].bucket.on[0]: must be created or deleted',
    ],
  ])('reports %s', (...c) => expectError(c));
});

describe('rules of budget', () => {
  const BUDGET = 'must be a number of GB-seconds over 0, like 1000';
  it.each<Case>([
    ['a budget of 0', api({ budget: { gbSeconds: 0 } }), `functions.api.budget.gbSeconds: ${BUDGET} (got 0)`],
    [
      'a negative budget',
      api({ budget: { gbSeconds: -5 } }),
      `functions.api.budget.gbSeconds: ${BUDGET} (got -5)`,
    ],
    [
      'a budget as text',
      api({ budget: { gbSeconds: '1000 GB-s' } }),
      `functions.api.budget.gbSeconds: ${BUDGET} (got "1000 GB-s")`,
    ],
    [
      'an endless budget (.inf)',
      api({ budget: { gbSeconds: Number.POSITIVE_INFINITY } }),
      `functions.api.budget.gbSeconds: ${BUDGET}`,
    ],
    [
      'a budget without its number',
      api({ budget: {} }),
      'functions.api.budget.gbSeconds: required: the GB-seconds a calendar month may use, like { gbSeconds: 1000 }',
    ],
    [
      'a budget given as a bare number',
      api({ budget: 500 }),
      'functions.api.budget: must be a map like { gbSeconds: 500 } (got 500)',
    ],
    [
      'a misspelt budget key',
      api({ budget: { gbseconds: 5 } }),
      'functions.api.budget.gbseconds: unknown key (did you mean gbSeconds?)',
    ],
    [
      'a budget in dollars',
      api({ budget: { dollars: 5 } }),
      'functions.api.budget.dollars: unknown key; the keys here are gbSeconds',
    ],
    [
      'a misspelt budget',
      api({ budgets: { gbSeconds: 5 } }),
      'functions.api.budgets: unknown key (did you mean budget?)',
    ],
  ])('reports %s', (...c) => expectError(c));
});

describe('rules of scale', () => {
  it.each<Case>([
    [
      'min over max',
      api({ scale: { min: 5, max: 2 } }),
      'functions.api.scale.min: must be at most scale.max (2)',
    ],
    [
      'min over the default max',
      api({ scale: { min: 20 } }),
      'functions.api.scale.min: must be at most scale.max (10, th',
    ],
    [
      'a max of zero',
      api({ scale: { max: 0 } }),
      'functions.api.scale.max: must be a whole number from 1 to 1000',
    ],
    [
      'a negative min',
      api({ scale: { min: -1 } }),
      'functions.api.scale.min: must be a whole number from 0 to 1000',
    ],
    [
      'an idle under 100ms',
      api({ scale: { idle: '10ms' } }),
      'functions.api.scale.idle: must be from 100ms to 1d',
    ],
    [
      'an idle over a day',
      api({ scale: { idle: '25h' } }),
      'functions.api.scale.idle: must be from 100ms to 1d',
    ],
    [
      'a scale that is a number',
      api({ scale: 5 }),
      'functions.api.scale: must be a map like { min: 0, max: 10,',
    ],
  ])('reports %s', (...c) => expectError(c));
});

describe('rules of env and permissions', () => {
  it.each<Case>([
    ['env as a list', api({ env: ['A=1'] }), 'functions.api.env: must be a map of NAME: value'],
    [
      'a name with a dash',
      api({ env: { 'MY-VAR': 'x' } }),
      'functions.api.env.MY-VAR: names are letters, digits',
    ],
    [
      'a name starting with a digit',
      api({ env: { '1X': 'x' } }),
      'functions.api.env["1X"]: names are letters',
    ],
    [
      'NODE_OPTIONS',
      api({ env: { NODE_OPTIONS: '-r x' } }),
      'functions.api.env.NODE_OPTIONS: reserved: Gust sets',
    ],
    [
      'a GUST_ name',
      api({ env: { GUST_URL: 'x' } }),
      'functions.api.env.GUST_URL: reserved: names starting with',
    ],
    ['a map as a value', api({ env: { A: { b: 1 } } }), `functions.api.env.A: ${ENV_VALUE} (got a map)`],
    ['a value left empty', api({ env: { A: null } }), `functions.api.env.A: ${ENV_VALUE} (got nothing)`],
    [
      'a value with a NUL',
      api({ env: { A: 'a\0b' } }),
      'functions.api.env.A: must not contain a NUL character',
    ],
    [
      'an unknown permission',
      api({ permissions: ['bucket:up:delete'] }),
      'functions.api.permissions[0]: must be',
    ],
    [
      'a topic read',
      api({ permissions: ['kv:a:read', 'topic:t:read'] }),
      'functions.api.permissions[1]: must be',
    ],
    [
      'an invoke of a bad name',
      api({ permissions: ['function:Api:invoke'] }),
      'functions.api.permissions[0]:',
    ],
    [
      'permissions as text',
      api({ permissions: 'kv:a:read' }),
      'functions.api.permissions: must be a list, like',
    ],
  ])('reports %s', (...c) => expectError(c));

  it('lists the accepted forms when a permission is wrong', () => {
    expectError([
      '',
      api({ permissions: ['s3:*'] }),
      'functions.api.permissions[0]: must be one of bucket:NAME:read|write, kv:NS:read|write, ' +
        'topic:NAME:publish, function:NAME:invoke (got "s3:*")',
    ]);
  });
});

describe('rules of triggers', () => {
  it.each<Case>([
    [
      'triggers as a map',
      api({ triggers: { http: {} } }),
      'functions.api.triggers: must be a list, like [{ http:',
    ],
    [
      'a trigger that is text',
      trigger('http'),
      'functions.api.triggers[0]: must be a map with one key, the trigger',
    ],
    [
      'a badly indented trigger',
      trigger({ http: null, path: '/x' }),
      'functions.api.triggers[0]: must have exactly',
    ],
    [
      'a trigger with no key',
      trigger({}),
      'functions.api.triggers[0]: must have exactly one key, the trigger kind',
    ],
    [
      'a webhook without path',
      trigger({ webhook: { verify: 'github', secret: 'S' } }),
      'functions.api.triggers[0].webhook.path: required',
    ],
    [
      'a webhook without verify',
      trigger({ webhook: { path: '/h', secret: 'S' } }),
      'functions.api.triggers[0].webhook.verify: required',
    ],
    [
      'an unknown webhook verifier',
      trigger({ webhook: { path: '/h', verify: 'gitlab', secret: 'S' } }),
      'functions.api.triggers[0].webhook.verify: must be one of github, stripe, hmac-sha256',
    ],
    [
      'a webhook without secret',
      trigger({ webhook: { path: '/h', verify: 'stripe' } }),
      'functions.api.triggers[0].webhook.secret: required: a secret name',
    ],
    [
      'a webhook on a reserved path',
      trigger({ webhook: { path: '/_gust/h', verify: 'stripe', secret: 'S' } }),
      'functions.api.triggers[0].webhook.path: is reserved',
    ],
    [
      'a schedule without cron',
      trigger({ schedule: {} }),
      'functions.api.triggers[0].schedule.cron: required',
    ],
    [
      'a cron of 4 fields',
      trigger({ schedule: { cron: '* * * *' } }),
      'functions.api.triggers[0].schedule.cron: must have 5 fields',
    ],
    [
      'a cron of 7 fields',
      trigger({ schedule: { cron: '0 * * * * * 2030' } }),
      'functions.api.triggers[0].schedule.cron: must have 5 fields (minute hour day month weekday), or 6 with seconds first (got 7)',
    ],
    [
      'a cron minute of 61',
      trigger({ schedule: { cron: '61 * * * *' } }),
      'functions.api.triggers[0].schedule.cron: is not a cron expression',
    ],
    [
      'an unknown time zone',
      trigger({ schedule: { cron: '* * * * *', timezone: 'Mars/Base' } }),
      'functions.api.triggers[0].schedule.timezone: is not a time zone',
    ],
    [
      'a negative catchUp',
      trigger({ schedule: { cron: '* * * * *', catchUp: -1 } }),
      'functions.api.triggers[0].schedule.catchUp: must be a whole number of ticks',
    ],
    [
      'a topic trigger without name',
      trigger({ topic: { batch: 2 } }),
      'functions.api.triggers[0].topic.name: required: a topic name',
    ],
    [
      'a topic batch of 101',
      trigger({ topic: { name: 'orders', batch: 101 } }),
      'functions.api.triggers[0].topic.batch: must be a whole number of messages from 1 to 100',
    ],
    [
      'a misspelt kind',
      trigger({ htpp: {} }),
      'functions.api.triggers[0].htpp: unknown trigger kind (did you mean',
    ],
    [
      'an unknown kind',
      trigger({ email: {} }),
      'functions.api.triggers[0].email: unknown trigger kind; the kinds are',
    ],
    [
      'an http without path',
      http({ methods: ['GET'] }),
      'functions.api.triggers[0].http.path: required: the URL path',
    ],
    ['an http as text', http('/hello'), 'functions.api.triggers[0].http: must be a map like { path: /hello,'],
    [
      'a path without /',
      http({ path: 'hello' }),
      'functions.api.triggers[0].http.path: must start with / (got "hel',
    ],
    [
      'a repeated parameter',
      http({ path: '/a/:id/:id' }),
      'functions.api.triggers[0].http.path: parameter :id appea',
    ],
    [
      'a * in the middle',
      http({ path: '/a/*/b' }),
      'functions.api.triggers[0].http.path: * must be the last segment',
    ],
    [
      'a path under /_gust/',
      http({ path: '/_gust/ui' }),
      'functions.api.triggers[0].http.path: is reserved: Gust',
    ],
    ['the path /_gust', http({ path: '/_gust' }), 'functions.api.triggers[0].http.path: is reserved'],
    [
      'the Lambda API path',
      http({ path: '/2015-03-31/functions/*' }),
      'functions.api.triggers[0].http.path: is reser',
    ],
    [
      'an unknown method',
      http({ path: '/a', methods: ['GET', 'FETCH'] }),
      'functions.api.triggers[0].http.methods[1]',
    ],
    [
      'methods as text',
      http({ path: '/a', methods: 'GET' }),
      'functions.api.triggers[0].http.methods: must be a list',
    ],
    [
      'an unknown auth',
      http({ path: '/a', auth: 'jwt' }),
      'functions.api.triggers[0].http.auth: must be one of public',
    ],
  ])('reports %s', (...c) => expectError(c));

  it.each<Case>([
    [
      'a postgres trigger without connection',
      trigger({ postgres: { table: 'orders' } }),
      'functions.api.triggers[0].postgres.connection: required: the name of a secret',
    ],
    [
      'a connection string in place of a secret name',
      trigger({ postgres: { connection: 'postgres://u@h/db', table: 'orders' } }),
      'functions.api.triggers[0].postgres.connection: must be the name of a secret',
    ],
    [
      'a postgres trigger without table',
      trigger({ postgres: { connection: 'DB' } }),
      'functions.api.triggers[0].postgres.table: required: a table name',
    ],
    [
      'a quoted or mixed-case table',
      trigger({ postgres: { connection: 'DB', table: 'Orders' } }),
      'functions.api.triggers[0].postgres.table: must be a table name, optionally schema-qualified',
    ],
    [
      'a table of three parts',
      trigger({ postgres: { connection: 'DB', table: 'a.b.c' } }),
      'functions.api.triggers[0].postgres.table: must be a table name',
    ],
    [
      'an unknown change',
      trigger({ postgres: { connection: 'DB', table: 'orders', on: ['truncate'] } }),
      'functions.api.triggers[0].postgres.on[0]: must be insert, update or delete',
    ],
    [
      'an unknown key',
      trigger({ postgres: { connection: 'DB', table: 'orders', slot: 'x' } }),
      'functions.api.triggers[0].postgres.slot',
    ],
  ])('reports %s', (...c) => expectError(c));

  it('reads a postgres trigger: public by default, every change unless on says', () => {
    const read = (spec: unknown) => {
      const result = validateManifest(trigger({ postgres: spec }));
      if (!result.ok) throw new Error(result.errors.join('\n'));
      return result.manifest.functions[0]!.triggers[0];
    };
    expect(read({ connection: 'SHOP_DB', table: 'orders' })).toEqual({
      type: 'postgres',
      connection: 'SHOP_DB',
      schema: 'public',
      table: 'orders',
      on: ['insert', 'update', 'delete'],
    });
    expect(read({ connection: 'SHOP_DB', table: 'shop.orders', on: ['delete', 'insert', 'delete'] })).toEqual(
      {
        type: 'postgres',
        connection: 'SHOP_DB',
        schema: 'shop',
        table: 'orders',
        on: ['delete', 'insert'],
      },
    );
  });

  it('lists the accepted methods and the kinds of trigger in full', () => {
    expectError([
      '',
      http({ path: '/a', methods: ['FETCH'] }),
      'functions.api.triggers[0].http.methods[0]: must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS ' +
        '(got "FETCH"); leave methods out to accept every method',
    ]);
    expectError([
      '',
      trigger({ htpp: {} }),
      'functions.api.triggers[0].htpp: unknown trigger kind (did you mean http?); ' +
        'the kinds are http, schedule, topic, webhook, kv, bucket, postgres, stream',
    ]);
  });
});
