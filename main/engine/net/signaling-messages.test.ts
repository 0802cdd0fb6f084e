import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeFrame, MAX_FRAME_BYTES, parseFrame, SIGNALING_VERSION, type SignalFrame } from './signaling-messages.ts';

const ID = 'ab'.repeat(32);
const hello = {
  t: 'hello',
  v: SIGNALING_VERSION,
  id: '0123456789abcdef',
  deviceId: 'DEV-1',
  deviceName: 'Laptop ✓',
  discoveryIds: [ID],
} as const;

test('valid frames round-trip', () => {
  const frames: SignalFrame[] = [
    { ...hello, discoveryIds: [ID], listenPort: 21120, via: 'lan' },
    { t: 'welcome', v: SIGNALING_VERSION, deviceId: 'DEV-2', deviceName: '', discoveryIds: [], listenPort: 0 },
    { t: 'offer', sdp: 'v=0\r\n' },
    { t: 'answer', sdp: 'v=0\r\n' },
    { t: 'candidate', candidate: 'a=candidate:1 1 UDP 2114977791 127.0.0.1 55746 typ host', mid: '0' },
    { t: 'connected' },
    { t: 'error', reason: 'no shared share' },
  ];
  for (const f of frames) assert.deepEqual(parseFrame(encodeFrame(f)), { ok: true, frame: f });
});

test('unknown fields are ignored, known ones are checked', () => {
  const r = parseFrame(JSON.stringify({ ...hello, future: { x: 1 } }));
  assert.ok(r.ok);
  assert.equal('future' in r.frame, false);
  const bad = (o: unknown) => {
    const x = parseFrame(JSON.stringify(o));
    assert.equal(x.ok, false, JSON.stringify(o).slice(0, 80));
    return x.ok ? '' : x.error;
  };
  assert.match(bad({ ...hello, id: 'XYZ' }), /id must be/);
  assert.match(bad({ ...hello, deviceId: '' }), /deviceId/);
  assert.match(bad({ ...hello, deviceId: 'has space' }), /printable ASCII/);
  assert.match(bad({ ...hello, deviceName: 'a\nb' }), /control characters/);
  assert.match(bad({ ...hello, deviceName: 'x'.repeat(300) }), /deviceName/);
  assert.match(bad({ ...hello, discoveryIds: [ID, ID] }), /duplicate/);
  assert.match(bad({ ...hello, discoveryIds: [ID.toUpperCase()] }), /lowercase hex/);
  assert.match(bad({ ...hello, listenPort: 70000 }), /listenPort/);
  assert.match(bad({ ...hello, listenPort: 1.5 }), /listenPort/);
  assert.match(bad({ ...hello, via: 'carrier pigeon' }), /via must be/);
  assert.match(bad({ t: 'offer', sdp: '' }), /sdp/);
  assert.match(bad({ t: 'offer', sdp: 'x'.repeat(40_000) }), /sdp/);
  assert.match(bad({ t: 'candidate', candidate: 'c' }), /mid must be a string/);
  assert.match(bad({ t: 'error' }), /reason/);
  assert.match(bad(null), /not a JSON object/);
  assert.match(bad('hello'), /not a JSON object/);
});

test('error reasons lose control characters', () => {
  const r = parseFrame(JSON.stringify({ t: 'error', reason: 'bad\u001b[31m' }));
  assert.deepEqual(r, { ok: true, frame: { t: 'error', reason: 'bad [31m' } });
});

test('oversized frames are refused before parsing', () => {
  const r = parseFrame('"' + 'x'.repeat(MAX_FRAME_BYTES) + '"');
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.error, /exceeds/);
});

test('parseFrame never throws, whatever arrives', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.json(), fc.uint8Array({ maxLength: 300 })), (input) => {
      parseFrame(input);
    }),
  );
  fc.assert(
    fc.property(fc.object(), (o) => {
      parseFrame(JSON.stringify({ ...o, t: 'hello' }));
    }),
  );
});
