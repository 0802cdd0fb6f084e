// npm run bench [scan|sync|...]: runs the benchmarks and prints their figures (also as JSON lines
// with --json). Figures live here, never in timed tests: the machines are shared and noisy.
import { benchScan, printScan } from './scan.ts';

const which = new Set(process.argv.slice(2).filter((a) => !a.startsWith('--')));
const json = process.argv.includes('--json');
const want = (name: string) => which.size === 0 || which.has(name);

if (want('scan')) {
  const r = await benchScan(Number(process.env.BENCH_FILES ?? 10_000), Number(process.env.BENCH_BIG_MB ?? 512) * 1024 * 1024);
  json ? console.log(JSON.stringify({ bench: 'scan', ...r })) : printScan(r);
}
process.exit(0);
