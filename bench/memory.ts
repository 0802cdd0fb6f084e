// Where a daemon's memory is (issue 11): the engine runs in this process on a generated tree of
// small files, so process.memoryUsage() and /proc/self/smaps can be read after full garbage
// collections, before sharing, right after the scan, and once the hash workers have exited.
//   node --expose-gc --import tsx bench/memory.ts [files=10000]
//   MEMORY_WAIT_MS=33000   wait after the scan (hash workers exit after 30 s idle)
//   MEMORY_HEAPSNAPSHOT=1  also write a heap snapshot into the temp folder
// Loopback only, like the other benchmarks.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeHeapSnapshot } from 'node:v8';
import { loopbackEnv } from '../e2e/harness.ts';
import { makeTree } from './scan.ts';

Object.assign(process.env, {
  PEERFOLD_LAN_TARGETS: loopbackEnv.PEERFOLD_LAN_TARGETS,
  PEERFOLD_BIND_ADDRESS: loopbackEnv.PEERFOLD_BIND_ADDRESS,
});
const { Engine } = await import('../main/engine/engine.ts');

const files = Number(process.argv[2] ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.error('run with node --expose-gc for figures after a full collection');
const M = (x: number) => (x / 1e6).toFixed(1);

interface Mapping {
  head: string;
  rss: number;
}
function mappings(): Mapping[] {
  return readFileSync('/proc/self/smaps', 'utf8')
    .split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)
    .map((m) => ({ head: m.split('\n')[0]!.replace(/\s+/g, ' ').slice(0, 100), rss: Number(/\nRss:\s+(\d+)/.exec(m)?.[1] ?? 0) * 1024 }));
}

function measure(label: string) {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  // WebAssembly memory (sql.js: SQLite's heap and page cache) is counted in `external`, not in arrayBuffers
  console.log(
    `${label.padEnd(24)} rss ${M(m.rss)} MB | JS heap used ${M(m.heapUsed)} of ${M(m.heapTotal)} | arrayBuffers ${M(m.arrayBuffers)} | wasm and other external ${M(m.external - m.arrayBuffers)}`,
  );
  return m;
}

const base = mkdtempSync(join(tmpdir(), 'peerfold-bench-memory-'));
try {
  const dir = join(base, 'data');
  mkdirSync(dir);
  makeTree(dir, files, 0);
  measure('before the engine');
  const engine = await Engine.open({ home: join(base, 'home'), listenPort: 0, log: () => {} });
  await sleep(1000);
  const idle = measure('idle engine');
  // what the process held when its resident memory peaked during the scan (sampled, no forced GC)
  let peak = process.memoryUsage();
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > peak.rss) peak = m;
  }, 200);
  const t0 = performance.now();
  const { share } = await engine.call('share', { path: dir });
  for (;;) {
    const s = (await engine.call('status', {})).shares.find((x) => x.id === share.id)!;
    if (s.state === 'idle' && s.lastScanAt !== null && s.localFiles >= files) break;
    await sleep(250);
  }
  console.log(`scanned ${files} files in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  clearInterval(sampler);
  console.log(
    `sampled peak during the scan: rss ${M(peak.rss)} MB | JS heap used ${M(peak.heapUsed)} of ${M(peak.heapTotal)} | arrayBuffers ${M(peak.arrayBuffers)} | wasm and other external ${M(peak.external - peak.arrayBuffers)}`,
  );
  measure('after the scan');
  await sleep(Number(process.env.MEMORY_WAIT_MS ?? 33_000));
  const after = measure('hash workers gone');
  console.log(
    `beyond the idle engine, per file: resident ${((after.rss - idle.rss) / files).toFixed(0)} B, JS heap ${((after.heapUsed - idle.heapUsed) / files).toFixed(0)} B, external ${((after.external - idle.external) / files).toFixed(0)} B`,
  );
  console.log(
    `peak RSS ${M(Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024)} MB; biggest mappings now:`,
  );
  for (const m of mappings()
    .sort((a, b) => b.rss - a.rss)
    .slice(0, 10))
    console.log(`  ${M(m.rss).padStart(6)} MB  ${m.head}`);
  if (process.env.MEMORY_HEAPSNAPSHOT) console.log(`heap snapshot: ${writeHeapSnapshot(join(tmpdir(), `peerfold-${files}.heapsnapshot`))}`);
  await engine.close();
} finally {
  rmSync(base, { recursive: true, force: true });
}
process.exit(0);
