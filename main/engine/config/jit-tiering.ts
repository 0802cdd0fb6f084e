// How soon V8 hands a function to its optimizing compiler (TurboFan). A daemon's work comes in
// bursts (a folder of new files, a peer's index), and with V8's default budget a fresh daemon's
// first burst made TurboFan compile some 250-300 functions on its background threads: ~0.9 CPU-s
// per daemon during a 2,000-file sync, a third as much CPU as the main thread itself used, on a
// machine where both ends share two cores (bench/README.md, "Small files across a long link, third
// round"). A larger budget optimizes only what stays hot; what runs briefly stays in baseline code.
// A process-wide V8 flag, read whenever a function's budget is reset: set once, before the engine runs.
import { setFlagsFromString } from 'node:v8';

/** V8's default (11.x: 66 KiB of bytecode executed) times four. */
export const JIT_INTERRUPT_BUDGET = 4 * 67_584;

let set = false;

/**
 * Sets the budget once per process. PEERFOLD_JIT_BUDGET overrides it (bytes of bytecode; 0 keeps
 * V8's own), for measuring.
 */
export function calmJitTiering(env: NodeJS.ProcessEnv = process.env): void {
  if (set) return;
  set = true;
  const budget = env.PEERFOLD_JIT_BUDGET === undefined ? JIT_INTERRUPT_BUDGET : Number(env.PEERFOLD_JIT_BUDGET);
  if (!Number.isSafeInteger(budget) || budget <= 0) return;
  try {
    setFlagsFromString(`--interrupt-budget=${budget}`);
  } catch {
    // a runtime that refuses flags after start (an embedder's choice) keeps its default tiering
  }
}
