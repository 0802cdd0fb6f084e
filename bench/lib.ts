// Small helpers shared by the benchmarks. Devices themselves come from e2e/harness.ts (real daemon
// processes with separate homes, every packet on loopback).
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, repoRoot } from '../e2e/harness.ts';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** MB = 1,000,000 bytes, as sha256sum and network tools count. */
export const mb = (bytes: number) => bytes / 1e6;
export const fmt = (n: number, digits = 1) => n.toFixed(digits);
export const now = () => performance.now();

/**
 * Environment for bench daemons on top of the harness's loopback env: the bundle (what users run)
 * unless --from-source, and the default full-rescan interval (the tests' 15 s would add rescans to
 * the figures).
 */
export function benchDeviceEnv(fromSource: boolean): Record<string, string> {
  return { PEERFOLD_FROM_SOURCE: fromSource ? '1' : '0', PEERFOLD_RESCAN_MS: String(5 * 60_000) };
}

/** Builds dist/headless from the current source so the bundle the daemons run is never stale. */
export function buildHeadless(): void {
  const r = spawnSync(process.execPath, [join(repoRoot, 'scripts/build.mjs'), 'headless'], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building dist/headless failed: ${r.stderr || r.stdout}`);
}

/** Peak resident set size of a live process (VmHWM), in bytes; 0 when unknown. */
export function peakRssOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) a live process has used so far, in seconds; 0 when unknown. */
export function cpuSecondsOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    // the fields after the command name (which may hold spaces): utime is the 14th field, stime the 15th
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

export function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : e.isFile() ? statSync(p).size : 0;
  }
  return n;
}

/** Writes `bytes` of random data (incompressible, no repeated chunks) in 8 MiB blocks. */
export function writeRandomFile(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  try {
    const block = Buffer.alloc(8 * MiB);
    for (let done = 0; done < bytes; done += block.length) {
      const n = Math.min(block.length, bytes - done);
      randomFillSync(block, 0, n);
      writeSync(fd, block, 0, n);
    }
  } finally {
    closeSync(fd);
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Every cluster a benchmark has open, so an interrupted run still stops its daemons and deletes its data. */
const openClusters = new Set<Cluster>();

export function benchCluster(prefix: string): Cluster & { dispose(): Promise<void> } {
  const c = new Cluster(prefix) as Cluster & { dispose(): Promise<void> };
  openClusters.add(c);
  c.dispose = async () => {
    openClusters.delete(c);
    await c.close();
  };
  return c;
}

export async function closeAllClusters(): Promise<void> {
  for (const c of [...openClusters]) {
    openClusters.delete(c);
    await c.close().catch(() => undefined);
  }
}

/** Free space of the file system holding `dir`, in bytes (benchmarks need several GB). */
export function freeBytes(dir: string): number {
  const r = spawnSync('df', ['-Pk', dir], { encoding: 'utf8' });
  const cols = r.stdout?.trim().split('\n').pop()?.split(/\s+/);
  return cols && cols.length >= 4 ? Number(cols[3]) * 1024 : Infinity;
}
