// Writes <file>.br and <file>.gz beside every text file of the built dashboard worth compressing, so
// the server sends them as they are (Content-Encoding) and no request pays for compression.
// Node's own zlib: no dependency. Run by `npm run build` after `vite build`.
import { readdir, readFile, writeFile, stat, unlink } from 'node:fs/promises';
import { join, extname } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const root = process.argv[2] ?? 'dist';
const compressible = new Set(['.html', '.js', '.mjs', '.css', '.json', '.svg', '.txt', '.webmanifest']);
const minimumBytes = 1024; // below this the headers cost more than compression saves

async function* files(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.isFile()) yield path;
  }
}

let written = 0;
let before = 0;
let after = 0;
for await (const path of files(root)) {
  if (path.endsWith('.map')) {
    await unlink(path); // source maps are never published
    continue;
  }
  if (!compressible.has(extname(path))) continue;
  const data = await readFile(path);
  for (const suffix of ['.br', '.gz']) {
    // A stale variant from an earlier build must not outlive its file.
    await unlink(path + suffix).catch(() => {});
  }
  if (data.length < minimumBytes) continue;
  const br = brotliCompressSync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  });
  const gz = gzipSync(data, { level: 9 });
  // Only keep a variant that is actually smaller than the file.
  if (br.length < data.length) await writeFile(path + '.br', br);
  if (gz.length < data.length) await writeFile(path + '.gz', gz);
  written += 1;
  before += data.length;
  after += Math.min(br.length, data.length);
  const s = await stat(path);
  if (!s.isFile()) throw new Error(`${path} vanished while compressing`);
}
console.log(`precompress: ${written} files, ${before} bytes -> ${after} bytes with brotli`);
