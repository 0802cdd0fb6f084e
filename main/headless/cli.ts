// `peerfold`: the entry point (bin/peerfold loads this, or its bundle dist/headless/cli.js).
// Exit codes: 0 success, 1 failure (one line on stderr), 2 bad usage (with a usage line).
import { statSync } from 'node:fs';
import { resolveHome } from '../engine/config/home.ts';
import { parseArgs, UsageError, type Invocation } from './args.ts';
import type { ControlClient } from './client.ts';
import { formatHuman, formatJson } from './format.ts';
import type { Result } from '../../shared/api.ts';

/** How long `peerfold stop` waits for the daemon to release its home after it agreed to stop. */
const STOP_WAIT_MS = 60_000;
let ranDaemon = false;

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export async function runCli(argv: string[]): Promise<number> {
  let inv: Invocation;
  try {
    inv = parseArgs(argv, { cwd: process.cwd(), isDir });
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`peerfold: ${err.message}\nusage: ${err.usage}\n`);
      return 2;
    }
    throw err;
  }

  if (inv.kind === 'help') {
    process.stdout.write(inv.text + '\n');
    return 0;
  }
  if (inv.kind === 'daemon') {
    // loaded only here: every other command stays free of the engine and starts fast
    const { runDaemon } = await import('./daemon.ts');
    ranDaemon = true;
    return runDaemon({ home: inv.home, listenPort: inv.listenPort, uiPort: inv.uiPort });
  }

  const home = resolveHome(inv.home);
  // the client (and ws) only here: the daemon never loads them
  const { connectToDaemon, waitForStop } = await import('./client.ts');
  const { awaitInviteJoin } = await import('./invite-wait.ts');
  let client: ControlClient | null = null;
  try {
    client = await connectToDaemon(home);
    let result = await client.call(inv.method, inv.params);
    if (inv.command === 'join' && (result as Result<'join'>).share.invite) {
      const end = await awaitInviteJoin(client, (result as Result<'join'>).share);
      if (end.kind === 'refused') throw new Error(`${end.error}: nothing was joined`);
      result = { share: end.share };
    }
    if (inv.command === 'stop') {
      await client.closed;
      if (!(await waitForStop(home, client.pid, STOP_WAIT_MS))) {
        throw new Error(`the daemon (pid ${client.pid}) agreed to stop but is still running after ${STOP_WAIT_MS / 1000} s`);
      }
    }
    process.stdout.write((inv.json ? formatJson(inv.command, result) : formatHuman(inv.command, result, inv.params)) + '\n');
    return 0;
  } catch (err) {
    process.stderr.write(`peerfold: ${oneLine(err instanceof Error ? err.message : String(err))}\n`);
    return 1;
  } finally {
    client?.close();
  }
}

const code = await runCli(process.argv.slice(2));
// the daemon returns only once stopped; anything it leaves behind must not keep the process up
if (ranDaemon) process.exit(code);
process.exitCode = code;
