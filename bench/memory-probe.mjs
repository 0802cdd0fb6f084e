// Samples a daemon's memory over a benchmark run (issue 11: where the peak sits). Load it into the
// daemons the harness starts:
//   MEMPROBE_DIR=/tmp/probe PEERFOLD_DAEMON_NODE_ARGS="--import $PWD/bench/memory-probe.mjs" npm run bench -- transfer
// Every 250 ms each daemon appends one JSON line to MEMPROBE_DIR/<pid>.jsonl: VmRSS, VmHWM, RssAnon,
// RssFile and threads from /proc/self/status (MB), process.memoryUsage() (heap, external,
// arrayBuffers; MB), CPU-seconds so far and the main thread's V8 heap spaces (resident MB: `new` is the young
// generation). Linux only (reads /proc); does nothing without MEMPROBE_DIR.
// MEMPROBE_GC_IDLE=1 (with --expose-gc among the daemon's flags): once the process has used no CPU for 5 s
// after it worked, one full collection, marked `gc: true` in that row: what an idle daemon would
// hold if it collected (issue 11, "Scale, sixth round").
import { appendFileSync, readFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { getHeapSpaceStatistics } from 'node:v8';

const dir = process.env.MEMPROBE_DIR;
if (dir && threadId === 0) {
  const file = `${dir}/${process.pid}.jsonl`;
  const MB = 2 ** 20;
  const kb = (s, k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) / 1024;
  const t0 = Date.now();
  const gcIdle = process.env.MEMPROBE_GC_IDLE === '1' && typeof globalThis.gc === 'function';
  let busyAt = 0;
  let lastCpu = 0;
  let worked = false;
  const sample = () => {
    const st = readFileSync('/proc/self/status', 'utf8');
    const m = process.memoryUsage();
    const cpu = process.cpuUsage();
    const row = {
      t: Date.now() - t0,
      rss: kb(st, 'VmRSS'),
      hwm: kb(st, 'VmHWM'),
      anon: kb(st, 'RssAnon'),
      file: kb(st, 'RssFile'),
      threads: Number(/^Threads:\s+(\d+)/m.exec(st)?.[1] ?? 0),
      heapTotal: m.heapTotal / MB,
      heapUsed: m.heapUsed / MB,
      external: m.external / MB,
      arrayBuffers: m.arrayBuffers / MB,
      cpu: (cpu.user + cpu.system) / 1e6,
      spaces: Object.fromEntries(
        getHeapSpaceStatistics().map((x) => [x.space_name.replace('_space', ''), +(x.physical_space_size / MB).toFixed(1)]),
      ),
    };
    if (gcIdle) {
      const now = Date.now();
      if (row.cpu - lastCpu > 0.05) {
        busyAt = now;
        if (row.cpu > 20) worked = true;
      }
      lastCpu = row.cpu;
      if (worked && now - busyAt > 5000) {
        worked = false;
        globalThis.gc();
        row.gc = true;
      }
    }
    appendFileSync(file, JSON.stringify(row) + '\n');
  };
  setInterval(sample, 250).unref();
}
