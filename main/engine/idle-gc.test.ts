import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdleGc, idleGcStep, type IdleGcState } from './idle-gc.ts';

const policy = { minWorkCpuS: 5, quietCpuPerS: 0.03, quietMs: 5_000 };

/** Feeds one sample per second: [cpu-seconds used in that second]; the seconds at which it collects. */
function run(samples: number[]): number[] {
  let state: IdleGcState = { work: 0, quietSince: null };
  const at: number[] = [];
  samples.forEach((cpuS, i) => {
    const step = idleGcStep(state, cpuS, 1000, (i + 1) * 1000, policy);
    state = step.state;
    if (step.collect) at.push(i + 1);
  });
  return at;
}

test('a burst of work, then quiet: one collection once it has been quiet 5 s, and none after while it stays quiet', () => {
  const busy = Array<number>(8).fill(0.9);
  const quiet = Array<number>(30).fill(0.005);
  assert.deepEqual(run([...busy, ...quiet]), [13]);
});

test('too little work since the last collection: none (an idle daemon is not collected over and over)', () => {
  assert.deepEqual(run([0.5, 0.5, ...Array<number>(30).fill(0.005)]), []);
});

test('quiet must last: a second of work in the quiet starts the wait again; work after a collection earns another', () => {
  const q = (n: number) => Array<number>(n).fill(0);
  assert.deepEqual(run([...Array<number>(6).fill(1), ...q(3), 0.5, ...q(5), ...Array<number>(6).fill(1), ...q(6)]), [15, 26]);
});

test('the shell collects in this process (V8 exposes gc at run time)', async () => {
  const g = new IdleGc({ minWorkCpuS: 0, quietCpuPerS: 1e9, quietMs: 0 }, 10);
  try {
    const t0 = Date.now();
    while (g.collections === 0 && Date.now() - t0 < 5_000) await new Promise((r) => setTimeout(r, 10));
    assert.ok(g.collections > 0, 'collected');
  } finally {
    g.stop();
  }
});
