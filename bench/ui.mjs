/**
 * The dashboard bench (about 20 s): what the first page costs a browser. A platform with the
 * examples deployed; Debian's Chromium (playwright-core) opens /_gust/ui with the key already in
 * the tab, and the time is from navigation start to the functions listed (the first function's
 * link in the table), median of BENCH_UI_LOADS (9) loads with the cache off, then the same with the
 * cache on (hashed files kept). Size: the compressed bytes of every response of one cold load
 * (bodies as sent, headers apart), the dashboard's files and the API's answers counted apart.
 * Writes bench/results/ui.json. After npm run build.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { chromiumMissing, launchChromium } from '../test/helpers/chromium.mjs';
import { ROOT, removeTempDirs, startGust } from './lib/gust.mjs';
import { stopAll } from './lib/procs.mjs';
import { median } from './lib/stats.mjs';

const LOADS = Number(process.env.BENCH_UI_LOADS ?? 9);
const missing = chromiumMissing();
if (missing) {
  console.error(`bench/ui.mjs needs Chromium: ${missing}`);
  process.exit(1);
}

let browser;
try {
  const g = await startGust({ dir: path.join(ROOT, 'examples') });
  browser = await launchChromium({ viewport: { width: 1280, height: 900 } });
  const { context } = browser;
  await context.addInitScript((key) => sessionStorage.setItem('gust.key', key), g.key);

  /** One load: ms from navigation start to the functions listed, and the bytes of its responses. */
  const load = async (cache) => {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: !cache });
    const bytes = { files: 0, api: 0, headers: 0, requests: 0 };
    const sized = [];
    page.on('requestfinished', (req) =>
      sized.push(
        req.sizes().then((s) => {
          bytes[new URL(req.url()).pathname.startsWith('/_gust/api/') ? 'api' : 'files'] +=
            s.responseBodySize;
          bytes.headers += s.responseHeadersSize;
          bytes.requests++;
        }),
      ),
    );
    await page.goto(`${g.url}/_gust/ui`);
    await page.locator('tbody th a').first().waitFor({ timeout: 20_000 });
    const ms = await page.evaluate(() => performance.now());
    await Promise.all(sized);
    await page.close();
    return { ms, bytes };
  };

  await load(false); // unmeasured: the platform's first answers, the browser's own start
  const cold = [];
  for (let i = 0; i < LOADS; i++) cold.push(await load(false));
  const warm = [];
  for (let i = 0; i < LOADS; i++) warm.push(await load(true));
  const sizes = cold[0].bytes;
  const result = {
    loads: LOADS,
    firstLoadMs: { cacheOff: median(cold.map((l) => l.ms)), cacheOn: median(warm.map((l) => l.ms)) },
    firstLoadBytes: sizes,
    at: new Date().toISOString(),
  };
  console.log(
    `first load, functions listed: median ${result.firstLoadMs.cacheOff.toFixed(0)} ms cache off, ${result.firstLoadMs.cacheOn.toFixed(0)} ms cache on (${LOADS} loads each)`,
  );
  console.log(
    `first load bytes (compressed bodies): ${sizes.files} dashboard files + ${sizes.api} API answers, ${sizes.headers} header bytes, ${sizes.requests} requests`,
  );
  await mkdir(path.join(ROOT, 'bench/results'), { recursive: true });
  await writeFile(path.join(ROOT, 'bench/results/ui.json'), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await browser?.close();
  await stopAll();
  await removeTempDirs();
}
