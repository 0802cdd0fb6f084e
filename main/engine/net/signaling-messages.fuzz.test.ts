// Fuzzing the signaling frame parser and the LAN discovery packet decoder: anyone on the network
// can send them anything. parseFrame returns { ok: false, error } (never throws) and whatever it
// accepts is within every limit; decodeAnnouncement returns null or a well-formed announcement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MAX_CANDIDATE_CHARS,
  MAX_DEVICE_ID_CHARS,
  MAX_DEVICE_NAME_CHARS,
  MAX_DISCOVERY_IDS,
  MAX_FRAME_BYTES,
  MAX_MID_CHARS,
  MAX_REASON_CHARS,
  MAX_SDP_CHARS,
  SIGNALING_VERSION,
  encodeFrame,
  parseFrame,
  type ParseResult,
  type SignalFrame,
} from './signaling-messages.ts';
import { MAX_IDS_PER_PACKET, MAX_PACKET_BYTES, decodeAnnouncement, encodeAnnouncement } from './discovery-packet.ts';

const ID = 'ab'.repeat(32);
const valid: SignalFrame[] = [
  {
    t: 'hello',
    v: SIGNALING_VERSION,
    id: '0123456789abcdef',
    deviceId: 'DEV-1',
    deviceName: 'Laptop ✓',
    discoveryIds: [ID],
    listenPort: 21120,
    via: 'lan',
  },
  { t: 'welcome', v: SIGNALING_VERSION, deviceId: 'DEV-2', deviceName: '', discoveryIds: [ID], listenPort: 0 },
  { t: 'offer', sdp: 'v=0\r\n' },
  { t: 'answer', sdp: 'v=0\r\n' },
  { t: 'candidate', candidate: 'a=candidate:1 1 UDP 2114977791 127.0.0.1 55746 typ host', mid: '0' },
  { t: 'connected' },
  { t: 'error', reason: 'no shared share' },
];

/** parseFrame must not throw; what it accepts must be within the limits and parse back the same. */
function check(input: unknown): ParseResult {
  const r = parseFrame(input as string);
  if (!r.ok) {
    assert.equal(typeof r.error, 'string');
    return r;
  }
  const f = r.frame as unknown as Record<string, unknown>;
  const within = (key: string, max: number) =>
    assert.ok(f[key] === undefined || (typeof f[key] === 'string' && (f[key] as string).length <= max), key);
  within('deviceId', MAX_DEVICE_ID_CHARS);
  within('deviceName', MAX_DEVICE_NAME_CHARS);
  within('sdp', MAX_SDP_CHARS);
  within('candidate', MAX_CANDIDATE_CHARS);
  within('mid', MAX_MID_CHARS);
  within('reason', MAX_REASON_CHARS);
  if (f.discoveryIds !== undefined) assert.ok(Array.isArray(f.discoveryIds) && f.discoveryIds.length <= MAX_DISCOVERY_IDS);
  assert.deepEqual(parseFrame(encodeFrame(r.frame)), r);
  return r;
}

test('fuzz: every field of every frame replaced by any JSON value is accepted only when valid, never thrown on', () => {
  fc.assert(
    fc.property(fc.constantFrom(...valid), fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), (frame, extraKey, value) => {
      const keys = Object.keys(frame);
      for (const key of [...keys, extraKey]) check(JSON.stringify({ ...frame, [key]: value }));
      // with a key missing
      for (const key of keys) {
        const { [key]: _gone, ...rest } = frame as unknown as Record<string, unknown>;
        check(JSON.stringify(rest));
      }
    }),
    { numRuns: 500 },
  );
});

test('fuzz: truncated and mutated frames, random text and random bytes are refused without throwing', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...valid),
      fc.nat(),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
      (frame, cut, flips) => {
        const text = encodeFrame(frame);
        check(text.slice(0, cut % text.length));
        const bytes = Buffer.from(text);
        for (const [at, v] of flips) bytes[at % bytes.length] = v;
        check(new Uint8Array(bytes));
        check(bytes.toString('latin1'));
      },
    ),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(
      fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.uint8Array({ maxLength: 300 })),
      (x) => void check(x),
    ),
    { numRuns: 500 },
  );
});

test('fuzz: input of the wrong type is refused, not thrown on', () => {
  for (const v of [null, undefined, 42, {}, [], new ArrayBuffer(4), [Buffer.from('{}')], Symbol('x'), () => 1]) {
    const r = check(v);
    assert.equal(r.ok, false, String(typeof v));
  }
  fc.assert(
    fc.property(fc.anything(), (v) => void check(v)),
    { numRuns: 300 },
  );
});

test('a frame type that cannot be turned into text is refused, not thrown on', () => {
  // what fast-check found: the error message was built with String(t)
  for (const t of [{ toString: 0 }, { toString: null }, { valueOf: {}, toString: {} }, ['a', { toString: 1 }]]) {
    const r = check(JSON.stringify({ t }));
    assert.equal(r.ok, false);
    assert.match((r as { error: string }).error, /^object frame: unknown frame type/);
  }
  assert.equal(check(JSON.stringify({ ...valid[0], t: { toString: 0 } })).ok, false);
});

test('oversized and deeply nested frames are refused, as text or bytes, before they are parsed', () => {
  const big = JSON.stringify({ t: 'offer', sdp: 'x'.repeat(MAX_FRAME_BYTES) });
  for (const input of [big, new Uint8Array(Buffer.from(big))]) {
    const r = check(input);
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.error, /exceeds/);
  }
  const depth = Math.floor((MAX_FRAME_BYTES - 100) / 2);
  const nested = `{"t":"hello","x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  assert.ok(Buffer.byteLength(nested) <= MAX_FRAME_BYTES);
  assert.equal(check(nested).ok, false);
  // many discovery IDs, just over the limit
  const ids = Array.from({ length: MAX_DISCOVERY_IDS + 1 }, (_, i) => i.toString(16).padStart(16, '0'));
  assert.match((check(JSON.stringify({ ...valid[0], discoveryIds: ids })) as { error: string }).error, /more than/);
});

test('fuzz: discovery datagrams decode to null or to a well-formed announcement', () => {
  const good = encodeAnnouncement({ deviceId: 'DEV-1', port: 21120, discoveryIds: [ID, 'cd'.repeat(8)] })[0]!;
  const decodes = (b: Uint8Array) => {
    const a = decodeAnnouncement(b);
    if (a === null) return;
    assert.ok(a.port >= 1 && a.port <= 65535);
    assert.match(a.deviceId, /^[\x21-\x7e]{1,128}$/);
    assert.ok(a.discoveryIds.length >= 1 && a.discoveryIds.length <= MAX_IDS_PER_PACKET);
    for (const id of a.discoveryIds) assert.match(id, /^(?:[0-9a-f]{2}){8,64}$/);
    assert.ok(encodeAnnouncement(a).every((p) => p.length <= MAX_PACKET_BYTES));
  };
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.nat(),
      fc.uint8Array({ maxLength: 40 }),
      (flips, cut, extra) => {
        const b = Buffer.from(good);
        for (const [at, v] of flips) b[at % b.length] = v;
        decodes(b);
        decodes(b.subarray(0, cut % b.length));
        decodes(Buffer.concat([b, extra]));
      },
    ),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: MAX_PACKET_BYTES + 10 }), (b) => decodes(b)),
    { numRuns: 500 },
  );
  // a datagram over the size cap is refused whole, even if well formed inside
  assert.equal(decodeAnnouncement(Buffer.concat([good, Buffer.alloc(MAX_PACKET_BYTES)])), null);
  // a subarray of a larger buffer decodes from its own bytes only
  const inside = Buffer.concat([Buffer.from('junk'), good, Buffer.from('junk')]);
  assert.deepEqual(decodeAnnouncement(inside.subarray(4, 4 + good.length)), decodeAnnouncement(good));
});
