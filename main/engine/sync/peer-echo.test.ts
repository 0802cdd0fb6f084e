import { test } from 'node:test';
import assert from 'node:assert/strict';
import { versioned } from './versioned-fixture.ts';
import { echoLeavesNeed } from './peer-echo.ts';
import { decide } from './decide.ts';
import { pickGlobal, type Versioned } from './global.ts';

const ME = 'ME';
const P = 'PEER';
const O = 'OTHER';
const v = (deviceId: string, version: Record<string, number>, over: Partial<Versioned> = {}): Versioned =>
  versioned(deviceId, version, { modifiedBy: ME, ...over });

test('a peer sending back the version this device wrote, or an older one, changes nothing it needs', () => {
  const mine = v(ME, { [ME]: 2 });
  assert.equal(echoLeavesNeed(mine, undefined, v(P, { [ME]: 2 })), true, 'a new file pulled by the peer');
  assert.equal(echoLeavesNeed(mine, v(P, { [ME]: 1 }, { hash: 'old' }), v(P, { [ME]: 2 })), true, 'its older copy brought up to date');
  assert.equal(echoLeavesNeed(mine, undefined, v(P, { [ME]: 1 }, { hash: 'old' })), true, 'it caught up to an older version only');
  assert.equal(echoLeavesNeed(mine, undefined, v(P, { [ME]: 2 }, { mtimeMs: 999.7 })), true, 'its time read back a hair earlier');
});

test('anything this device does not already hold may change its need', () => {
  const mine = v(ME, { [ME]: 2 });
  assert.equal(echoLeavesNeed(undefined, undefined, v(P, { [ME]: 2 })), false, 'no local entry: the peer has something new');
  assert.equal(echoLeavesNeed(mine, undefined, v(P, { [ME]: 2, [P]: 1 }, { hash: 'edit' })), false, 'a newer version');
  assert.equal(echoLeavesNeed(mine, undefined, v(P, { [ME]: 1, [P]: 1 }, { hash: 'edit' })), false, 'a concurrent one');
  assert.equal(echoLeavesNeed(mine, undefined, v(P, { [ME]: 2 }, { mtimeMs: 1001 })), false, 'same version, a later time');
  assert.equal(echoLeavesNeed(mine, undefined, v(P, { [ME]: 2 }, { hash: 'bb' })), false, 'same version, other content');
  assert.equal(echoLeavesNeed(mine, undefined, v(P, { [ME]: 2 }, { deleted: true, hash: '' })), false, 'same version, deleted');
  // the peer's entry it replaces was newer (its index started over): the global may fall back
  assert.equal(echoLeavesNeed(mine, v(P, { [ME]: 2, [P]: 5 }, { hash: 'edit' }), v(P, { [ME]: 2 })), false);
  assert.equal(echoLeavesNeed(mine, v(P, { [ME]: 2 }, { mtimeMs: 2000 }), v(P, { [ME]: 2 })), false, 'its later time goes away');
});

/** Small random worlds: whenever echoLeavesNeed says so, the global and the decision stay the same. */
test('whenever it says the need stays, the global version and the decision do stay (random entries)', () => {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const entry = (deviceId: string): Versioned =>
    v(deviceId, Object.fromEntries([ME, P, O].map((d) => [d, rnd(3)]).filter(([, n]) => n !== 0)), {
      hash: ['aa', 'bb'][rnd(2)]!,
      mtimeMs: 1000 + rnd(3) * 0.6,
      deleted: rnd(6) === 0,
      modifiedBy: [ME, P, O][rnd(3)]!,
    });
  const same = (a: Versioned | undefined, b: Versioned | undefined) =>
    a === b ||
    (!!a &&
      !!b &&
      JSON.stringify([a.version, a.deleted, a.type, a.hash, a.modifiedBy, Math.floor(a.mtimeMs)]) ===
        JSON.stringify([b.version, b.deleted, b.type, b.hash, b.modifiedBy, Math.floor(b.mtimeMs)]));
  let checked = 0;
  for (let i = 0; i < 50_000; i++) {
    const local = rnd(5) ? entry(ME) : undefined;
    const other = rnd(2) ? entry(O) : undefined;
    const before = rnd(3) ? entry(P) : undefined;
    const next = entry(P);
    if (!echoLeavesNeed(local, before, next)) continue;
    checked++;
    const world = (peer: Versioned | undefined) => [local, other, peer].filter((e): e is Versioned => !!e);
    const g0 = pickGlobal(world(before));
    const g1 = pickGlobal(world(next));
    assert.ok(same(g0, g1), `global changed: ${JSON.stringify({ local, other, before, next, g0, g1 })}`);
    assert.deepEqual(decide(local, g1, ME), decide(local, g0, ME));
  }
  assert.ok(checked > 1000, `only ${checked} cases were echoes`);
});
