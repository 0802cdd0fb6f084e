// One full garbage collection once the process has gone quiet after a burst of work. V8 keeps the
// heap it grew during a sync (decoded index pages, records, pulled files' buffers: garbage by the
// end) until the next major collection, and an idle daemon allocates too little to start one: a
// new device of 30,000 files held a 110 MB V8 heap of which 15 MB was live; one collection once it
// had been quiet 5 s took its RSS from 286 to 193 MB (bench/README.md, "Scale, sixth round").
// Quiet is read from the process's own CPU time, so nothing in the engine has to report its work.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface IdleGcPolicy {
  /** CPU-seconds of work since the last collection that make one worth it */
  minWorkCpuS: number;
  /** CPU-seconds per second below which the process counts as quiet */
  quietCpuPerS: number;
  /** how long it must have been quiet */
  quietMs: number;
}

export const IDLE_GC: IdleGcPolicy = { minWorkCpuS: 5, quietCpuPerS: 0.03, quietMs: 5_000 };

export interface IdleGcState {
  /** CPU-seconds used since the last collection */
  work: number;
  /** since when the process has been quiet (ms), or null: busy */
  quietSince: number | null;
}

/** One sample of the process's CPU (`cpuS` used during the `dtMs` before `now`): the next state, and whether to collect now. */
export function idleGcStep(
  state: IdleGcState,
  cpuS: number,
  dtMs: number,
  now: number,
  policy: IdleGcPolicy = IDLE_GC,
): { state: IdleGcState; collect: boolean } {
  const work = state.work + cpuS;
  const quiet = dtMs > 0 && cpuS / (dtMs / 1000) < policy.quietCpuPerS;
  const quietSince = quiet ? (state.quietSince ?? now - dtMs) : null;
  if (quietSince !== null && now - quietSince >= policy.quietMs && work >= policy.minWorkCpuS) {
    return { state: { work: 0, quietSince }, collect: true };
  }
  return { state: { work, quietSince }, collect: false };
}

/**
 * A full collection (V8's `gc`): `--expose-gc` set at run time and the function taken from a new
 * context, as jest's leak detector does; null where that is refused.
 */
function fullGc(): (() => void) | null {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  try {
    setFlagsFromString('--expose-gc');
    const fn = runInNewContext('gc') as unknown;
    return typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    return null;
  }
}

/** Samples the process's CPU every second and collects once per burst of work followed by quiet. */
export class IdleGc {
  private state: IdleGcState = { work: 0, quietSince: null };
  private readonly timer: NodeJS.Timeout;
  private last = { cpu: process.cpuUsage(), at: Date.now() };
  private gc: (() => void) | null | undefined;
  /** collections made (tests, logs) */
  collections = 0;

  constructor(
    private readonly policy: IdleGcPolicy = IDLE_GC,
    everyMs = 1000,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  private sample(): void {
    const now = Date.now();
    const cpu = process.cpuUsage();
    const cpuS = (cpu.user - this.last.cpu.user + cpu.system - this.last.cpu.system) / 1e6;
    const step = idleGcStep(this.state, cpuS, now - this.last.at, now, this.policy);
    this.state = step.state;
    if (step.collect) {
      this.gc ??= fullGc();
      if (this.gc) {
        this.gc();
        this.collections++;
      }
    }
    // the collection's own CPU is not work
    this.last = { cpu: process.cpuUsage(), at: Date.now() };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
