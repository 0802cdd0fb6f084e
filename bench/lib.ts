// Helpers for benchmarks that drive real daemons through the CLI, as a user would.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatusResult } from '../shared/api.ts';

export const repo = new URL('..', import.meta.url).pathname;
const bin = join(repo, 'bin/peerfold');

/** Benchmarks keep every packet on this machine. */
export const benchEnv = { ...process.env, PEERFOLD_LAN_TARGETS: '127.255.255.255', PEERFOLD_BIND_ADDRESS: '127.0.0.1' };

export function tempDir(prefix: string): string {
  return mkdtempSync(join(process.env.PEERFOLD_BENCH_DIR ?? tmpdir(), prefix));
}

export function cli<T = unknown>(home: string, ...args: string[]): T {
  const r = spawnSync(process.execPath, [bin, '--home', home, ...args, '--json'], { encoding: 'utf8', env: benchEnv });
  if (r.status !== 0) throw new Error(`peerfold ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

export interface Daemon {
  home: string;
  proc: ChildProcess;
  stop(): Promise<void>;
  peakRssBytes(): number;
}

export async function startDaemon(home: string, extra: string[] = []): Promise<Daemon> {
  const proc = spawn(process.execPath, [bin, '--home', home, 'daemon', '--listen', '0', '--ui-port', '0', ...extra], { env: benchEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`daemon exited: ${out}`);
    try {
      cli(home, 'status');
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`daemon did not answer: ${out}`);
      await sleep(100);
    }
  }
  let peak = 0;
  const sample = setInterval(() => (peak = Math.max(peak, rssOf(proc.pid!))), 200);
  return {
    home,
    proc,
    peakRssBytes: () => Math.max(peak, hwmOf(proc.pid!)),
    async stop() {
      clearInterval(sample);
      peak = Math.max(peak, hwmOf(proc.pid!));
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

function procStatus(pid: number, key: string): number {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
const rssOf = (pid: number) => procStatus(pid, 'VmRSS');
const hwmOf = (pid: number) => procStatus(pid, 'VmHWM');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls status until `done` holds for the share; returns the time it took. */
export async function waitFor(home: string, done: (s: StatusResult) => boolean, timeoutMs = 600_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const s = cli<StatusResult>(home, 'status');
    if (done(s)) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out; last status: ${JSON.stringify(s)}`);
    await sleep(50);
  }
}

export const mb = (bytes: number) => bytes / 1e6;
export const fmt = (n: number, digits = 1) => n.toFixed(digits);
