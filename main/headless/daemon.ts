// `peerfold daemon`: the engine in the foreground, the control server beside it, one per home.
// Stops cleanly on SIGINT, SIGTERM or the API's `stop`: the server stops taking calls, the engine
// flushes its database, the home's control files are removed, and the process exits 0.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveHome } from '../engine/config/home.ts';
import type { Method, Params, Result } from '../../shared/api.ts';
import { startControlServer, type ApiHandler, type ControlServer } from './control-server.ts';
import { TOKEN_FILE, loadOrCreateToken, removeControlInfo, writeControlInfo } from './home-files.ts';
import { acquireLock, DaemonRunningError, type DaemonLock } from './lock.ts';
import { nodeVersionProblem } from './node-version.ts';

/** What the daemon needs of the engine: the API plus close(). The Engine facade satisfies it. */
export interface DaemonEngine extends ApiHandler {
  close(): Promise<void>;
  /** the engine's own way to ask its host process to stop (optional) */
  onStopRequested?(listener: () => void): void;
}
export type OpenEngine = (opts: { home: string; listenPort?: number }) => Promise<DaemonEngine>;

/** The real engine, loaded on demand so a test with its own engine never loads it. */
export const openRealEngine: OpenEngine = async (opts) => (await import('../engine/engine.ts')).Engine.open(opts);

export interface DaemonOptions {
  /** --home; resolved with resolveHome (PEERFOLD_HOME, then the OS app-data folder) */
  home?: string;
  /** --listen: the signaling port; the engine's setting when omitted */
  listenPort?: number;
  /** --ui-port: the web UI / control port on 127.0.0.1; DEFAULT_UI_PORT when omitted, 0 = any */
  uiPort?: number;
  /** the built renderer; defaultRendererDir() when omitted */
  rendererDir?: string | null;
  /** where the startup lines go (stdout by default) */
  print?: (line: string) => void;
  /**
   * print the web address with its access token (it signs a browser in); default: only when
   * stdout is an interactive terminal, so that the token never lands in a log file or journal
   */
  showToken?: boolean;
  printError?: (line: string) => void;
  /** install SIGINT/SIGTERM handlers (default true) */
  handleSignals?: boolean;
  /** the engine to run; openRealEngine when omitted (tests of the daemon shell pass a small one) */
  openEngine?: OpenEngine;
  /** the Node version to check against package.json "engines"; the running one when omitted */
  nodeVersion?: string;
}

export interface RunningDaemon {
  readonly home: string;
  readonly engine: DaemonEngine;
  readonly server: ControlServer;
  /** stops everything; resolves with the exit code (0 clean, 1 if the engine failed to close) */
  stop(reason?: string): Promise<number>;
  /** resolves with the exit code once stopped, by a signal, the API or stop() */
  readonly stopped: Promise<number>;
}

/**
 * The built renderer: PEERFOLD_RENDERER_DIR, else dist/renderer at the repository root. This module
 * lives two levels below the root both as source (main/headless/) and bundled (dist/headless/).
 */
export function defaultRendererDir(): string {
  if (process.env.PEERFOLD_RENDERER_DIR) return process.env.PEERFOLD_RENDERER_DIR;
  return fileURLToPath(new URL('../../dist/renderer', import.meta.url));
}

/** Starts the daemon; throws DaemonRunningError, or the engine's or server's startup error. */
export async function startDaemon(opts: DaemonOptions = {}): Promise<RunningDaemon> {
  const print = opts.print ?? ((line: string) => process.stdout.write(line + '\n'));
  const printError = opts.printError ?? ((line: string) => process.stderr.write(line + '\n'));
  const home = resolveHome(opts.home);
  mkdirSync(home, { recursive: true });
  const lock: DaemonLock = acquireLock(home);

  let engine: DaemonEngine;
  try {
    engine = await (opts.openEngine ?? openRealEngine)({ home, ...(opts.listenPort !== undefined ? { listenPort: opts.listenPort } : {}) });
  } catch (err) {
    lock.release();
    throw err;
  }

  let stopping: Promise<number> | null = null;
  let resolveStopped!: (code: number) => void;
  const stopped = new Promise<number>((r) => (resolveStopped = r));

  // `stop` ends this process, so the daemon answers it itself rather than passing it to the engine
  const handler: ApiHandler = {
    call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
      if (method === 'stop') {
        setImmediate(() => void stop('stop requested through the API'));
        return Promise.resolve({ ok: true } as Result<M>);
      }
      return engine.call(method, params);
    },
    on: (event, listener) => engine.on(event, listener),
  };

  let server: ControlServer;
  try {
    const token = loadOrCreateToken(home);
    server = await startControlServer({
      handler,
      token,
      port: opts.uiPort,
      rendererDir: opts.rendererDir === undefined ? defaultRendererDir() : opts.rendererDir,
    });
    writeControlInfo(home, { port: server.port, pid: process.pid, startedAt: Date.now() });
  } catch (err) {
    await engine.close().catch(() => {});
    lock.release();
    throw err;
  }

  engine.onStopRequested?.(() => void stop('the engine asked to stop'));

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      printError(`${signal} again: exiting without waiting for the engine to finish closing`);
      process.exit(1);
    }
    void stop(`${signal} received`);
  };
  const handleSignals = opts.handleSignals ?? true;
  if (handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  function stop(reason = 'stopping'): Promise<number> {
    stopping ??= (async () => {
      print(`Stopping (${reason})...`);
      let code = 0;
      await server.close().catch(() => {});
      try {
        await engine.close();
      } catch (err) {
        printError(`the engine did not close cleanly: ${err instanceof Error ? err.message : String(err)}`);
        code = 1;
      }
      removeControlInfo(home);
      lock.release();
      if (handleSignals) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      print('Stopped.');
      resolveStopped(code);
      return code;
    })();
    return stopping;
  }

  return { home, engine, server, stop, stopped };
}

/** `peerfold daemon`: start, print where to find it, run until stopped; resolves with the exit code. */
export async function runDaemon(opts: DaemonOptions = {}): Promise<number> {
  const print = opts.print ?? ((line: string) => process.stdout.write(line + '\n'));
  const printError = opts.printError ?? ((line: string) => process.stderr.write(line + '\n'));
  const nodeProblem = nodeVersionProblem(opts.nodeVersion);
  if (nodeProblem) {
    printError(`peerfold: ${nodeProblem}`);
    return 1;
  }
  let daemon: RunningDaemon;
  try {
    daemon = await startDaemon({ ...opts, print, printError });
  } catch (err) {
    printError(`peerfold: ${oneLine(err instanceof DaemonRunningError || err instanceof Error ? err.message : String(err))}`);
    return 1;
  }

  const fail = (what: string) => (err: unknown) => {
    printError(`peerfold daemon: ${what}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    void daemon.stop('after an unexpected error').then(() => process.exit(1));
  };
  process.on('uncaughtException', fail('unexpected error'));
  // A rejected promise nobody awaited is a bug worth a loud line, not a reason to stop syncing.
  process.on('unhandledRejection', (err) => {
    printError(
      `peerfold daemon: unhandled promise rejection (kept running): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
  });

  const status = await daemon.engine.call('status', {});
  const rendererDir = opts.rendererDir === undefined ? defaultRendererDir() : opts.rendererDir;
  const built = rendererDir !== null && existsSync(`${rendererDir}/index.html`);
  print(`Peerfold daemon running (pid ${process.pid})`);
  print(`  home       ${daemon.home}`);
  print(`  device ID  ${status.device.id}`);
  print(`  name       ${status.device.name}`);
  print(`  sync port  ${status.device.listenPort || '-'}`);
  const showToken = opts.showToken ?? process.stdout.isTTY === true;
  print(
    `  web UI     ${webUiLine(daemon.server, daemon.home, showToken)}${built ? '' : '  (placeholder page: run `npm run build` for the UI)'}`,
  );
  print('Stop it with Ctrl-C or `peerfold stop`.');
  return daemon.stopped;
}

/** The web address for the startup lines: with the token only where nobody but the user sees it. */
export function webUiLine(server: Pick<ControlServer, 'origin' | 'loginUrl'>, home: string, showToken: boolean): string {
  return showToken ? server.loginUrl : `${server.origin}/  (the access token is in ${join(home, TOKEN_FILE)})`;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}
