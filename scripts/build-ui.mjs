/**
 * build-ui: bundles the dashboard (src/ui/web) into dist/ui/public with esbuild, names each file by
 * its content hash (so the gateway can let browsers keep them a year), writes index.html, and
 * compresses every file ahead of time (gzip and brotli at their best levels): the gateway serves
 * bytes as they are, doing no work per request. Runs in `npm run build`, never at run time.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import * as esbuild from 'esbuild';

const root = path.resolve(fileURLToPath(import.meta.url), '../..');
const out = path.join(root, 'dist/ui/public');
const BASE = '/_gust/ui/';

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const result = await esbuild.build({
  entryPoints: [path.join(root, 'src/ui/web/main.tsx')],
  bundle: true,
  splitting: true,
  format: 'esm',
  minify: true,
  target: 'es2020',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: out,
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const outputs = Object.entries(result.metafile.outputs);
const entry = outputs.find(([, o]) => o.entryPoint?.endsWith('main.tsx'));
if (!entry) throw new Error('build-ui: esbuild made no entry for main.tsx');
const [entryJs, entryMeta] = entry;
const css = entryMeta.cssBundle;
const name = (file) => BASE + path.relative(out, path.join(root, file));
// the entry's static imports load with it: preloaded, so they do not wait for the entry to parse
const preloads = entryMeta.imports.filter((i) => i.kind === 'import-statement').map((i) => i.path);
const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>Gust dashboard</title>
${css ? `<link rel="stylesheet" href="${name(css)}">\n` : ''}${preloads.map((p) => `<link rel="modulepreload" href="${name(p)}">\n`).join('')}<script type="module" src="${name(entryJs)}"></script>
</head>
<body>
<div id="app"><noscript>The Gust dashboard needs JavaScript.</noscript></div>
</body>
</html>
`;
await writeFile(path.join(out, 'index.html'), html);

const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);
let compressed = 0;
for (const file of await readdir(out)) {
  const bytes = await readFile(path.join(out, file));
  const gz = await gzip(bytes, { level: 9 });
  const br = await brotli(bytes, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  await writeFile(path.join(out, `${file}.gz`), gz);
  await writeFile(path.join(out, `${file}.br`), br);
  compressed += br.length;
}
console.log(
  `dashboard: ${(await readdir(out)).length / 3} files, ${compressed} bytes brotli, in dist/ui/public`,
);
