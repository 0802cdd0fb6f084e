// How a daemon's Node process must be started (issue 11, bench/README.md "Memory, third round").
// A setting that bounds its memory can only be given when the process starts: V8's young
// generation size is fixed when the heap is set up. `peerfold daemon` started without it starts
// itself once more with it (the plan below); launchers that pass it already (e2e/harness.ts, the
// bench) are run as they are. Pure: the shell that acts on the plan is relaunch.ts.

/**
 * Node flags of every daemon process. A young generation of 2 x 2 MiB instead of V8's 2 x 16 MiB:
 * what it holds is garbage by the time a scavenge runs (chunk buffers, decoded messages), and all
 * of it was resident.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];

/** Set in the environment of a daemon the launcher started: it never relaunches again. */
export const RELAUNCHED_ENV = 'PEERFOLD_DAEMON_RELAUNCHED';
/** Set to 1 to run the daemon in the process as started, without the settings above. */
export const NO_RELAUNCH_ENV = 'PEERFOLD_DAEMON_NO_RELAUNCH';

export interface LaunchFacts {
  env: Readonly<Record<string, string | undefined>>;
  /** the node flags this process was started with (process.execArgv) */
  execArgv: readonly string[];
  /** process.execve exists (Node >= 22.15 on POSIX): the process can become the daemon itself */
  canExecve: boolean;
  /** process.platform */
  platform: string;
}

export type LaunchPlan =
  | { kind: 'run' }
  | {
      /** execve: replace this process; spawn: start a child and wait for it (Node 20) */
      kind: 'execve' | 'spawn';
      /** node flags to put before the script */
      nodeArgs: string[];
      env: Record<string, string>;
    };

/** The value of a node flag given as `--name=value` or `--name value`, in flags or in NODE_OPTIONS. */
function flagValue(args: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith(`${name}=`)) value = a.slice(name.length + 1);
    else if (a === name && i + 1 < args.length) value = args[i + 1];
  }
  return value;
}

const flagName = (flag: string) => flag.split('=')[0]!;

/** Whether this process already runs with the daemon's settings, or must start again with them. */
export function daemonLaunchPlan(facts: LaunchFacts): LaunchPlan {
  const { env, execArgv } = facts;
  if (env[RELAUNCHED_ENV] || env[NO_RELAUNCH_ENV] === '1') return { kind: 'run' };
  // Windows has no signals to pass on: Node would kill the daemon outright instead of letting it
  // flush and stop, so there it runs as started (a service there passes the flags itself)
  if (facts.platform === 'win32') return { kind: 'run' };
  const given = [...(env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean), ...execArgv];
  // a flag the user or a launcher set, to any value, is theirs: it is neither added nor overridden
  const missingFlags = DAEMON_NODE_FLAGS.filter((f) => flagValue(given, flagName(f)) === undefined);
  if (!missingFlags.length) return { kind: 'run' };
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;
  childEnv[RELAUNCHED_ENV] = facts.canExecve ? 'execve' : 'spawn';
  return { kind: facts.canExecve ? 'execve' : 'spawn', nodeArgs: [...missingFlags, ...execArgv], env: childEnv };
}

/** Node flags a launcher gives a daemon so that it runs as it is (daemonLaunchPlan: 'run'). */
export function daemonNodeFlags(): string[] {
  return [...DAEMON_NODE_FLAGS];
}
