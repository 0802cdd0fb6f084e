// The daemon shell with a small stand-in engine: lock, control files, stop through the API.
// (The CLI against the real engine in a real daemon process is e2e/cli.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiEvents, EventName, Method, Params, Result, StatusResult } from '../../shared/api.ts';
import { runDaemon, startDaemon, webUiLine, type DaemonEngine } from './daemon.ts';
import { DaemonRunningError } from './lock.ts';
import { connectToDaemon, DaemonNotRunningError } from './client.ts';
import { readControlInfo, CONTROL_FILE, LOCK_FILE, TOKEN_FILE } from './home-files.ts';

function smallEngine() {
  const state = { closed: 0, calls: [] as string[] };
  const status: StatusResult = {
    device: { id: 'DEV-1', name: 'test', listenPort: 0, version: '0' },
    paused: false,
    shares: [],
    error: null,
    trackers: [],
  };
  const engine: DaemonEngine = {
    async call<M extends Method>(method: M, _params: Params<M>): Promise<Result<M>> {
      state.calls.push(method);
      if (method === 'status') return status as Result<M>;
      return { ok: true } as Result<M>;
    },
    on<E extends EventName>(_e: E, _l: (d: ApiEvents[E]) => void) {
      return () => {};
    },
    async close() {
      state.closed++;
    },
  };
  return { engine, state };
}

const quiet = { print: () => {}, printError: () => {}, handleSignals: false, rendererDir: null, uiPort: 0 };

test('the daemon writes its control files, refuses a second one, and stops through the API', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'peerfold-daemon-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const { engine, state } = smallEngine();
  const d = await startDaemon({ ...quiet, home, openEngine: async () => engine });

  assert.deepEqual(readControlInfo(home)?.port, d.server.port);
  assert.equal(readControlInfo(home)?.pid, process.pid);
  assert.ok(existsSync(join(home, LOCK_FILE)));
  if (process.platform !== 'win32') assert.equal(statSync(join(home, TOKEN_FILE)).mode & 0o777, 0o600);

  let openedSecond = false;
  await assert.rejects(
    startDaemon({ ...quiet, home, openEngine: async () => ((openedSecond = true), engine) }),
    (e: unknown) => e instanceof DaemonRunningError,
  );
  assert.equal(openedSecond, false, 'a refused daemon never opens the engine');

  const client = await connectToDaemon(home);
  assert.equal((await client.call('status', {})).device.id, 'DEV-1');
  assert.deepEqual(await client.call('stop', {}), { ok: true });
  assert.ok(!state.calls.includes('stop'), "stop is the daemon's own business");
  await client.closed;
  assert.equal(await d.stopped, 0);
  assert.equal(state.closed, 1);
  assert.ok(!existsSync(join(home, CONTROL_FILE)));
  assert.ok(!existsSync(join(home, LOCK_FILE)));
  await assert.rejects(connectToDaemon(home), (e: unknown) => e instanceof DaemonNotRunningError);
});

test('an engine that fails to open releases the lock', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'peerfold-daemon-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  await assert.rejects(
    startDaemon({
      ...quiet,
      home,
      openEngine: async () => {
        throw new Error('database unreadable');
      },
    }),
    /database unreadable/,
  );
  assert.ok(!existsSync(join(home, LOCK_FILE)));
});

test('a busy UI port closes the engine and releases the lock', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'peerfold-daemon-'));
  const home2 = mkdtempSync(join(tmpdir(), 'peerfold-daemon-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  t.after(() => rmSync(home2, { recursive: true, force: true }));
  const first = await startDaemon({ ...quiet, home, openEngine: async () => smallEngine().engine });
  const { engine, state } = smallEngine();
  await assert.rejects(startDaemon({ ...quiet, home: home2, uiPort: first.server.port, openEngine: async () => engine }), /already in use/);
  assert.equal(state.closed, 1);
  assert.ok(!existsSync(join(home2, LOCK_FILE)));
  assert.equal(await first.stop(), 0);
});

test('a Node older than package.json allows stops the daemon at start with one clear line', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'peerfold-daemon-node-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const errors: string[] = [];
  let opened = false;
  const code = await runDaemon({
    home,
    nodeVersion: '18.20.4',
    handleSignals: false,
    print: () => undefined,
    printError: (line) => errors.push(line),
    openEngine: async () => {
      opened = true;
      throw new Error('must not be opened');
    },
  });
  assert.equal(code, 1);
  assert.equal(opened, false);
  assert.deepEqual(errors, [
    `peerfold: Peerfold needs Node >=20.19 (package.json "engines"); this is Node 18.20.4. Install a supported Node and start it again.`,
  ]);
  assert.ok(!existsSync(join(home, LOCK_FILE)));
});

test('the web address carries the token only for an interactive terminal; otherwise it says where the token is', () => {
  const server = { origin: 'http://127.0.0.1:21121', loginUrl: 'http://127.0.0.1:21121/?token=SECRET' };
  assert.equal(webUiLine(server, '/srv/pf', true), 'http://127.0.0.1:21121/?token=SECRET');
  const logged = webUiLine(server, '/srv/pf', false);
  assert.equal(logged, `http://127.0.0.1:21121/  (the access token is in ${join('/srv/pf', TOKEN_FILE)})`);
  assert.ok(!logged.includes('SECRET'));
});
