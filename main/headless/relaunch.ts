// Acts on a daemon launch plan (daemon-launch.ts): becomes the daemon with execve where Node has
// it, else starts the daemon as a child and stands in for it until it exits (same exit code; the
// child stops when this process is killed).
import { spawn } from 'node:child_process';
import type { LaunchPlan } from './daemon-launch.ts';

type Relaunch = Exclude<LaunchPlan, { kind: 'run' }>;

/** Signals passed on to the daemon. Ctrl-C reaches only this process: the child has its own process group. */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Runs the same command line again under the plan; resolves with the daemon's exit code (spawn only). */
export function relaunch(plan: Relaunch, script: string, args: readonly string[]): Promise<number> {
  const argv = [...plan.nodeArgs, script, ...args];
  const execve = (process as { execve?: (file: string, args: string[], env: Record<string, string>) => never }).execve;
  if (plan.kind === 'execve' && execve) execve(process.execPath, [process.execPath, ...argv], plan.env);
  return new Promise((resolve) => {
    // its own process group: a terminal's Ctrl-C comes here once and is passed on once,
    // instead of reaching both (the daemon takes a second signal as "exit without waiting");
    // the IPC channel closes when this process dies, however it dies, and the daemon then stops
    const child = spawn(process.execPath, argv, {
      env: plan.env,
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      detached: true,
    });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    for (const s of FORWARDED) process.on(s, forward);
    child.on('error', (err) => {
      process.stderr.write(`peerfold: could not start the daemon process: ${err.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      for (const s of FORWARDED) process.off(s, forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

/**
 * In a daemon a launcher started and waits on (relaunch above): stop when the launcher is gone,
 * as if it had been told to. The channel is not what keeps this process running.
 */
export function stopWithLauncher(stop: (reason: string) => void): void {
  const channel = process.channel;
  if (!channel) return;
  channel.unref();
  process.once('disconnect', () => stop('the peerfold process that started this daemon exited'));
}
