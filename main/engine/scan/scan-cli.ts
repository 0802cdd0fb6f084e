// Prints what the scanner sees in a folder, one JSON event per line (chunk hashes summarized).
// A debugging aid, and the tests run it as an unprivileged user to meet real permission errors.
//   node --import tsx main/engine/scan/scan-cli.ts ROOT [SUBPATH ...]

import { resolve } from 'node:path';
import { HashPool } from './hasher.ts';
import { loadIgnore } from './ignore.ts';
import { scan } from './scanner.ts';

const [root, ...paths] = process.argv.slice(2);
if (!root) {
  console.error('usage: scan-cli.ts ROOT [SUBPATH ...]');
  process.exit(2);
}
const pool = new HashPool({ size: 2 });
try {
  const abs = resolve(root);
  const ignore = await loadIgnore(abs);
  for await (const ev of scan({ root: abs, paths: paths.length ? paths : undefined, previous: () => undefined, pool, ignore })) {
    if (ev.kind === 'changed') {
      const { chunks, ...rest } = ev.entry;
      console.log(JSON.stringify({ kind: ev.kind, entry: { ...rest, chunks: chunks.length } }));
    } else {
      console.log(JSON.stringify(ev));
    }
  }
} finally {
  await pool.close();
}
