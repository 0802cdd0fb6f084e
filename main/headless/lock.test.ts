import { test } from 'node:test';
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock, DaemonRunningError, isProcessAlive } from './lock.ts';
import { loadOrCreateToken, readControlInfo, readToken, removeControlInfo, writeControlInfo, LOCK_FILE, TOKEN_FILE } from './home-files.ts';

function tmpHome(): string {
  return mkdtempSync(join(tmpdir(), 'peerfold-lock-'));
}

test('one lock per home; released locks can be taken again', (t) => {
  const home = tmpHome();
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const lock = acquireLock(home);
  assert.equal(readFileSync(join(home, LOCK_FILE), 'utf8').trim(), String(process.pid));
  // another process holding it: pretend the recorded pid is someone else's live process
  writeFileSync(join(home, LOCK_FILE), '4242\n');
  assert.throws(
    () => acquireLock(home, (pid) => pid === 4242),
    (e: unknown) => e instanceof DaemonRunningError && e.pid === 4242 && /already running for home .* \(pid 4242\)/.test(e.message),
  );
  writeFileSync(join(home, LOCK_FILE), `${process.pid}\n`);
  lock.release();
  assert.ok(!existsSync(join(home, LOCK_FILE)));
  acquireLock(home).release();
});

test('a stale lock (dead pid, garbage) is taken over', (t) => {
  const home = tmpHome();
  t.after(() => rmSync(home, { recursive: true, force: true }));
  writeFileSync(join(home, LOCK_FILE), '999999\n');
  const lock = acquireLock(home, () => false);
  assert.equal(readFileSync(join(home, LOCK_FILE), 'utf8').trim(), String(process.pid));
  lock.release();
  writeFileSync(join(home, LOCK_FILE), 'not a pid');
  acquireLock(home, () => true).release();
});

test('release does not remove a lock that another daemon took over', (t) => {
  const home = tmpHome();
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const lock = acquireLock(home);
  writeFileSync(join(home, LOCK_FILE), '4242\n');
  lock.release();
  assert.ok(existsSync(join(home, LOCK_FILE)));
});

test('isProcessAlive', () => {
  assert.ok(isProcessAlive(process.pid));
  assert.ok(!isProcessAlive(0));
  assert.ok(!isProcessAlive(-5));
});

test(
  'an exited process its parent has not reaped (a zombie) is not alive, and its stale lock is taken over',
  { skip: !existsSync('/proc/self/stat') && 'needs /proc' },
  async (t) => {
    // `sh` starts a child that exits soon, then becomes `sleep`, which never reaps it
    const parent = spawn('sh', ['-c', 'sleep 0.3 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
    t.after(() => parent.kill('SIGKILL'));
    const pid = await new Promise<number>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
    const state = () => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).charAt(0);
    };
    for (let i = 0; state() !== 'Z'; i++) {
      assert.ok(i < 200, 'the child did not become a zombie');
      await new Promise((r) => setTimeout(r, 50));
    }
    process.kill(pid, 0); // the trap: signalling a zombie succeeds
    assert.equal(isProcessAlive(pid), false);

    const home = tmpHome();
    t.after(() => rmSync(home, { recursive: true, force: true }));
    writeFileSync(join(home, LOCK_FILE), `${pid}\n`);
    acquireLock(home).release();
  },
);

test('the token is 32 random bytes in base64url, stored with mode 0600 and reused', (t) => {
  const home = tmpHome();
  t.after(() => rmSync(home, { recursive: true, force: true }));
  assert.equal(readToken(home), null);
  const token = loadOrCreateToken(home);
  assert.match(token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(Buffer.from(token, 'base64url').length, 32);
  if (process.platform !== 'win32') assert.equal(statSync(join(home, TOKEN_FILE)).mode & 0o777, 0o600);
  assert.equal(loadOrCreateToken(home), token);
  assert.equal(readToken(home), token);
  if (process.platform !== 'win32') {
    chmodSync(join(home, TOKEN_FILE), 0o644);
    assert.equal(loadOrCreateToken(home), token);
    assert.equal(statSync(join(home, TOKEN_FILE)).mode & 0o777, 0o600);
  }
  writeFileSync(join(home, TOKEN_FILE), 'garbage');
  const fresh = loadOrCreateToken(home);
  assert.notEqual(fresh, token);
  assert.match(fresh, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(loadOrCreateToken(tmpHomeCleanup(t)), fresh);
});

function tmpHomeCleanup(t: { after: (fn: () => void) => void }): string {
  const h = tmpHome();
  t.after(() => rmSync(h, { recursive: true, force: true }));
  return h;
}

test('control.json round-trips and is removed only by its owner', (t) => {
  const home = tmpHome();
  t.after(() => rmSync(home, { recursive: true, force: true }));
  assert.equal(readControlInfo(home), null);
  writeControlInfo(home, { port: 1234, pid: 77, startedAt: 5 });
  assert.deepEqual(readControlInfo(home), { port: 1234, pid: 77, startedAt: 5 });
  removeControlInfo(home, 78);
  assert.ok(readControlInfo(home));
  removeControlInfo(home, 77);
  assert.equal(readControlInfo(home), null);
  writeFileSync(join(home, 'control.json'), '{"port":');
  assert.equal(readControlInfo(home), null);
});
