import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Method } from '../../shared/api.ts';
import { ApiError } from '../../shared/errors.ts';
import { EVENT_NAMES, handleCall, isTrustedSender, planOpenPath, replyError } from './ipc-model.ts';
import type { CallTarget, ParamsValidator } from './ipc-model.ts';

/** A fake engine that records calls and answers from a table. */
function fakeEngine(answers: Partial<Record<Method, unknown>> = {}) {
  const calls: [string, unknown][] = [];
  const engine: CallTarget = {
    async call(method: Method, params: never) {
      calls.push([method, params]);
      if (method === 'unshare') throw new ApiError('not-found', 'no share named "x"');
      if (method === 'rescan') throw new TypeError('boom');
      return answers[method] ?? { ok: true };
    },
  };
  return { engine, calls };
}

const strict: ParamsValidator = (method, params) => {
  if (!['status', 'setSettings', 'getSettings', 'unshare', 'rescan', 'stop'].includes(method))
    throw new ApiError('bad-request', `unknown method "${method}"`);
  if (typeof params !== 'object' || params === null) throw new ApiError('bad-request', 'params must be an object');
  return { ...params, checked: true };
};

test('a valid call reaches the engine and its result comes back', async () => {
  const { engine, calls } = fakeEngine({ status: { paused: false } });
  const r = await handleCall(engine, strict, 'status', {});
  assert.deepEqual(r, { reply: { ok: true, result: { paused: false } }, effects: [] });
  // the engine gets what the validator returned, not the raw params
  assert.deepEqual(calls, [['status', { checked: true }]]);
});

test('the real validator accepts and refuses as the contract says', async () => {
  const { validateParams } = await import('../../shared/validate.ts');
  const { engine, calls } = fakeEngine();
  assert.equal((await handleCall(engine, validateParams, 'status', {})).reply.ok, true);
  assert.equal((await handleCall(engine, validateParams, 'share', {})).reply.ok, false);
  assert.equal((await handleCall(engine, validateParams, 'constructor', {})).reply.ok, false);
  assert.equal(calls.length, 1);
});

test('invalid calls never reach the engine', async () => {
  const { engine, calls } = fakeEngine();
  for (const [method, params] of [
    [42, {}],
    ['nope', {}],
    ['status', null],
    ['status', 'x'],
    [undefined, undefined],
  ] as const) {
    const r = await handleCall(engine, strict, method, params);
    assert.equal(r.reply.ok, false);
    assert.equal(!r.reply.ok && r.reply.error.code, 'bad-request');
  }
  assert.deepEqual(calls, []);
});

test('engine errors come back as data with their code; unknown throws become internal', async () => {
  const { engine } = fakeEngine();
  assert.deepEqual((await handleCall(engine, strict, 'unshare', { share: 'x' })).reply, {
    ok: false,
    error: { code: 'not-found', message: 'no share named "x"' },
  });
  assert.deepEqual((await handleCall(engine, strict, 'rescan', {})).reply, { ok: false, error: { code: 'internal', message: 'boom' } });
  assert.deepEqual(replyError(new ApiError('refused', 'read-only')), { ok: false, error: { code: 'refused', message: 'read-only' } });
});

test('stop quits the app instead of stopping the engine under it', async () => {
  const { engine, calls } = fakeEngine();
  const r = await handleCall(engine, strict, 'stop', {});
  assert.deepEqual(r, { reply: { ok: true, result: { ok: true } }, effects: [{ kind: 'quit' }] });
  assert.deepEqual(calls, []);
});

test('settings results tell the shell whether to start at login', async () => {
  const { engine } = fakeEngine({ setSettings: { startAtLogin: true, deviceName: 'x' } });
  assert.deepEqual((await handleCall(engine, strict, 'setSettings', { startAtLogin: true })).effects, [
    { kind: 'startAtLogin', enabled: true },
  ]);
});

test('only our own page is a trusted sender', () => {
  assert.equal(isTrustedSender('peerfold://app/index.html#/x'), true);
  for (const u of ['https://evil.example/', 'file:///tmp/x.html', 'about:blank', '', undefined, null])
    assert.equal(isTrustedSender(u), false, String(u));
});

test('every event of the contract is forwarded', () => {
  assert.deepEqual([...EVENT_NAMES].sort(), ['conflict', 'error', 'peers', 'shareState', 'shareSynced', 'status']);
});

test('openPath: only inside a shared folder', () => {
  const shares = ['/home/ann/Photos', '/srv/docs/'];
  assert.deepEqual(planOpenPath('/home/ann/Photos', shares, 'linux'), { ok: true, path: '/home/ann/Photos' });
  assert.deepEqual(planOpenPath('/home/ann/Photos/2024/a.jpg', shares, 'linux'), { ok: true, path: '/home/ann/Photos/2024/a.jpg' });
  assert.deepEqual(planOpenPath('/srv/docs/..foo', shares, 'linux'), { ok: true, path: '/srv/docs/..foo' });
  for (const p of ['/home/ann/Photos/../.ssh/id_ed25519', '/home/ann/PhotosX', '/etc', '/home/ann']) {
    const r = planOpenPath(p, shares, 'linux');
    assert.equal(r.ok, false, p);
    assert.equal(!r.ok && r.error.code, 'refused');
  }
  for (const p of ['relative/path', '', 5, null, '/a\0b', 'x'.repeat(5000)]) {
    const r = planOpenPath(p, shares, 'linux');
    assert.equal(!r.ok && r.error.code, 'bad-request', String(p).slice(0, 20));
  }
  // Windows: drive letters and case do not matter; a lookalike prefix is still outside
  assert.equal(planOpenPath('c:\\users\\ann\\photos\\x.png', ['C:\\Users\\Ann\\Photos'], 'win32').ok, true);
  assert.equal(planOpenPath('C:\\Users\\Ann\\Photos2', ['C:\\Users\\Ann\\Photos'], 'win32').ok, false);
  assert.equal(planOpenPath('/Users/Ann/photos/a', ['/Users/ann/Photos'], 'darwin').ok, true);
  // nothing shared: nothing opens
  assert.equal(planOpenPath('/home/ann/Photos', [], 'linux').ok, false);
});
