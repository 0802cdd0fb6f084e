// The CLI end to end against a real daemon process: bin/peerfold as a user runs it, the real engine,
// real files. Network stays on loopback (PEERFOLD_LAN_TARGETS / PEERFOLD_BIND_ADDRESS).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileEntry, ShareCodes, ShareSummary, StatusResult } from '../shared/api.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'peerfold');
const env = {
  ...process.env,
  PEERFOLD_LAN_TARGETS: '127.255.255.255',
  PEERFOLD_BIND_ADDRESS: '127.0.0.1',
  // the source, not a bundle from an earlier build
  PEERFOLD_FROM_SOURCE: '1',
  PEERFOLD_HOME: '',
};

const tmp = mkdtempSync(join(tmpdir(), 'peerfold-e2e-cli-'));
const daemons = new Set<ChildProcess>();
after(() => {
  for (const d of daemons) if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(home: string | null, ...args: string[]): Promise<Run> {
  const argv = home === null ? args : ['--home', home, ...args];
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...argv], { env, cwd: tmp, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function json<T>(home: string, ...args: string[]): Promise<T> {
  const r = await cli(home, ...args, '--json');
  assert.equal(r.code, 0, `${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

interface Daemon {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  webUrl: string;
}

/** Starts `peerfold daemon` and resolves once it printed its web address. */
function startDaemon(home: string): Promise<Daemon> {
  const proc = spawn(process.execPath, [bin, 'daemon', '--home', home, '--listen', '0', '--ui-port', '0'], {
    env,
    cwd: tmp,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  daemons.add(proc);
  let out = '';
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      // not a terminal: the address without the token, and where the token is
      const m = /web UI\s+(http:\/\/127\.0\.0\.1:\d+)\/ {2}\(the access token is in (.*control-token)\)/.exec(out);
      if (m) resolve({ proc, output: () => out, exited, webUrl: `${m[1]}/?token=${readFileSync(m[2], 'utf8').trim()}` });
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`daemon exited with ${code} before it was ready:\n${out}`)));
  });
}

function httpGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Polls status until the share has finished its first scan (no timing assertion: the test timeout bounds it). */
async function waitScanned(home: string, shareId: string): Promise<ShareSummary> {
  for (;;) {
    const st = await json<StatusResult>(home, 'status', shareId);
    const s = st.shares.find((x) => x.id === shareId);
    assert.ok(s, 'the share is in status');
    if (s.lastScanAt !== null && s.state !== 'scanning') return s;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('without a daemon: commands say so and exit 1; bad usage exits 2', async () => {
  const home = join(tmp, 'empty-home');
  const r = await cli(home, 'status');
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), `peerfold: no daemon is running for home ${home}; start one with \`peerfold daemon\``);
  assert.equal(r.stdout, '');

  const bad = await cli(home, 'frobnicate');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown command "frobnicate"\nusage: peerfold/);
  const missing = await cli(home, 'share');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /usage: peerfold share PATH \[--name NAME\]/);
  const help = await cli(null, 'help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /exit codes/);
});

test('a real daemon: share, status, files, pause, resume, refusals, web auth, stop, restart, SIGTERM', { timeout: 600_000 }, async () => {
  const home = join(tmp, 'home');
  const folder = join(tmp, 'Photos');
  mkdirSync(join(folder, 'sub'), { recursive: true });
  writeFileSync(join(folder, 'a.txt'), 'hello peerfold\n');
  writeFileSync(join(folder, 'sub', 'b.bin'), Buffer.alloc(300_000, 7));
  writeFileSync(join(folder, 'empty'), '');

  const d = await startDaemon(home);
  assert.match(d.output(), /device ID\s+\S+/);
  assert.ok(existsSync(join(home, 'control.json')));

  // one daemon per home
  const second = spawn(process.execPath, [bin, 'daemon', '--home', home, '--listen', '0', '--ui-port', '0'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  daemons.add(second);
  let secondErr = '';
  second.stderr!.on('data', (c: Buffer) => (secondErr += c));
  const secondCode = await new Promise<number | null>((r) => second.on('exit', (code) => r(code)));
  assert.equal(secondCode, 1);
  assert.match(secondErr, /a daemon is already running for home .* \(pid \d+\)/);

  // the device
  const id = await cli(home, 'id');
  assert.equal(id.code, 0);
  const device = await json<{ id: string; name: string; listenPort: number }>(home, 'id');
  assert.equal(id.stdout.trim(), device.id);

  // share
  const shared = await json<{ share: ShareSummary; codes: ShareCodes }>(home, 'share', folder, '--name', 'Photos');
  assert.equal(shared.share.path, folder);
  assert.equal(shared.share.name, 'Photos');
  const shareId = shared.share.id;

  const scanned = await waitScanned(home, shareId);
  assert.equal(scanned.localFiles, 3);
  assert.equal(scanned.localBytes, 15 + 300_000);
  assert.equal(scanned.path, folder);

  const st = await json<StatusResult>(home, 'status');
  assert.equal(st.device.id, device.id);
  assert.equal(st.shares.length, 1);
  assert.ok(['scanning', 'syncing', 'idle', 'paused', 'error'].includes(st.shares[0].state));
  assert.deepEqual(st.shares[0].errors, []);

  const human = await cli(home, 'status');
  assert.equal(human.code, 0);
  assert.match(human.stdout, /Photos {2}/);
  assert.match(human.stdout, /local\s+3 files, 293 KiB/);

  // files
  const files = await json<FileEntry[]>(home, 'files', shareId);
  const byPath = new Map(files.map((f) => [f.path, f]));
  assert.equal(byPath.get('a.txt')?.size, 15);
  assert.equal(byPath.get('a.txt')?.type, 'file');
  assert.match(byPath.get('a.txt')?.hash ?? '', /^[0-9a-f]{64}$/);
  assert.equal(byPath.get('sub/b.bin')?.size, 300_000);
  assert.ok((byPath.get('sub/b.bin')?.chunks ?? 0) >= 1);
  assert.equal(byPath.get('sub')?.type, 'dir');
  assert.equal(byPath.get('empty')?.size, 0);
  assert.ok(files.every((f) => !f.deleted && f.sequence > 0 && Object.keys(f.version).length > 0));
  const sub = await json<FileEntry[]>(home, 'files', folder, '--path', 'sub');
  assert.ok(sub.some((f) => f.path === 'sub/b.bin'));
  assert.ok(!sub.some((f) => f.path === 'a.txt'));
  const table = await cli(home, 'files', shareId);
  assert.match(table.stdout, /^TYPE\s+MODE\s+SIZE/);
  assert.match(table.stdout, /293 KiB .*sub\/b\.bin/);

  // pause and resume, by id and by path
  assert.equal((await cli(home, 'pause', shareId)).code, 0);
  let s = (await json<StatusResult>(home, 'status', shareId)).shares[0];
  assert.equal(s.paused, true);
  assert.equal(s.state, 'paused');
  const resumed = await cli(home, 'resume', folder);
  assert.equal(resumed.code, 0, resumed.stderr);
  s = (await json<StatusResult>(home, 'status', shareId)).shares[0];
  assert.equal(s.paused, false);
  assert.notEqual(s.state, 'paused');

  // refusals: one line on stderr, exit 1
  for (const [what, path] of [
    ['a path that does not exist', join(tmp, 'nope')],
    ['a file', join(folder, 'a.txt')],
    ['a folder inside another share', join(folder, 'sub')],
  ]) {
    const r = await cli(home, 'share', path);
    assert.equal(r.code, 1, `sharing ${what} must fail`);
    assert.match(r.stderr, /^peerfold: .+\n$/, `one line for ${what}`);
    assert.equal(r.stdout, '');
  }
  const unknown = await cli(home, 'files', 'no-such-share');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^peerfold: .+\n$/);

  // the web UI: the printed address with the token from the file signs in; nothing without it; the
  // token itself is never in the output of a daemon that does not run in a terminal
  assert.ok(!d.output().includes(d.webUrl.split('token=')[1]), 'the token is not in the log');
  assert.equal((await httpGet(d.webUrl.replace(/\?token=.*/, ''))).status, 401);
  const signIn = await httpGet(d.webUrl);
  assert.equal(signIn.status, 302);
  const cookie = String(signIn.headers['set-cookie']).split(';')[0];
  assert.equal((await httpGet(d.webUrl.replace(/\?token=.*/, ''), { cookie })).status, 200);

  // stop: the daemon exits 0 and removes its control files
  const stop = await cli(home, 'stop');
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(await d.exited, 0);
  assert.ok(!existsSync(join(home, 'control.json')));
  assert.ok(!existsSync(join(home, 'daemon.lock')));
  assert.equal((await cli(home, 'status')).code, 1);

  // a restart finds the share again (the database was flushed); SIGTERM stops it cleanly too
  const d2 = await startDaemon(home);
  const again = await json<StatusResult>(home, 'status');
  assert.deepEqual(
    again.shares.map((x) => [x.id, x.path]),
    [[shareId, folder]],
  );
  d2.proc.kill('SIGTERM');
  assert.equal(await d2.exited, 0);
  assert.ok(!existsSync(join(home, 'daemon.lock')));
});

/** The state letter of a process in /proc (Z: exited, not yet reaped by its parent), or null when it is gone. */
function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

test(
  'stop returns as soon as the daemon has stopped, even while its parent has not reaped it',
  { timeout: 600_000, skip: !existsSync('/proc/self/stat') && 'needs /proc' },
  async (t) => {
    const home = join(tmp, 'home-zombie');
    mkdirSync(home, { recursive: true });
    // the shell starts the daemon in the background, then becomes `sleep`, which never waits for its
    // children: the daemon, once exited, stays a zombie (kill(pid, 0) still succeeds for it)
    const log = join(tmp, 'zombie-daemon.log');
    const parent = spawn(
      'sh',
      ['-c', `"$0" "$1" --home "$2" daemon --listen 0 --ui-port 0 >"$3" 2>&1 & echo $!; exec sleep 600`, process.execPath, bin, home, log],
      {
        env,
        cwd: tmp,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    daemons.add(parent);
    t.after(() => parent.kill('SIGKILL'));
    const pid = await new Promise<number>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
    assert.ok(pid > 0);
    for (let i = 0; !/web UI/.test(existsSync(log) ? readFileSync(log, 'utf8') : ''); i++) {
      assert.ok(i < 1200 && procState(pid) !== null, `the daemon did not start:\n${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const stop = await cli(home, 'stop');
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(!existsSync(join(home, 'daemon.lock')));
    assert.ok(!existsSync(join(home, 'control.json')));
    // the situation this is about: the daemon has exited but nobody has reaped it
    for (let i = 0; procState(pid) !== 'Z'; i++) {
      assert.ok(i < 600, `the daemon (state ${procState(pid)}) did not exit after stop`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // a new daemon may take the home at once
    const again = await startDaemon(home);
    assert.equal((await cli(home, 'stop')).code, 0);
    assert.equal(await again.exited, 0);
  },
);
