import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeAnnouncement, encodeAnnouncement, MAX_PACKET_BYTES } from './discovery-packet.ts';

const id = (n: number) => n.toString(16).padStart(2, '0').repeat(32);

test('round trip', () => {
  const a = { deviceId: 'DEV-1', port: 21120, discoveryIds: [id(1), id(2), 'ab'.repeat(8)] };
  const packets = encodeAnnouncement(a);
  assert.equal(packets.length, 1);
  assert.deepEqual(decodeAnnouncement(packets[0]), a);
});

test('many IDs split over several datagrams, each within the size cap', () => {
  const ids = Array.from({ length: 150 }, (_, i) => id(i));
  const packets = encodeAnnouncement({ deviceId: 'D'.repeat(128), port: 1, discoveryIds: ids });
  assert.ok(packets.length > 1);
  const heard: string[] = [];
  for (const p of packets) {
    assert.ok(p.length <= MAX_PACKET_BYTES);
    const a = decodeAnnouncement(p);
    assert.ok(a);
    heard.push(...a.discoveryIds);
  }
  assert.deepEqual(heard, ids);
});

test('refuses to encode what it would not decode', () => {
  assert.throws(() => encodeAnnouncement({ deviceId: 'has space', port: 1, discoveryIds: [id(1)] }), /printable ASCII/);
  assert.throws(() => encodeAnnouncement({ deviceId: 'D', port: 0, discoveryIds: [id(1)] }), /port/);
  assert.throws(() => encodeAnnouncement({ deviceId: 'D', port: 1, discoveryIds: ['AB'.repeat(16)] }), /lowercase hex/);
  assert.throws(() => encodeAnnouncement({ deviceId: 'D', port: 1, discoveryIds: ['ab'] }), /8\.\.64 bytes/);
  assert.deepEqual(encodeAnnouncement({ deviceId: 'D', port: 1, discoveryIds: [] }), []);
});

test('rejects every kind of malformed datagram', () => {
  const good = encodeAnnouncement({ deviceId: 'DEV', port: 5000, discoveryIds: [id(7)] })[0];
  const mutate = (f: (b: Buffer) => void) => {
    const b = Buffer.from(good);
    f(b);
    return b;
  };
  const bad: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    [
      'wrong magic',
      mutate((b) => {
        b[0] = 0x51;
      }),
    ],
    [
      'future version',
      mutate((b) => {
        b[4] = 2;
      }),
    ],
    [
      'port 0',
      mutate((b) => {
        b.writeUInt16BE(0, 6);
      }),
    ],
    [
      'device id length 0',
      mutate((b) => {
        b[8] = 0;
      }),
    ],
    [
      'device id runs past the end',
      mutate((b) => {
        b[8] = 200;
      }),
    ],
    [
      'control char in device id',
      mutate((b) => {
        b[9] = 0x0a;
      }),
    ],
    [
      'zero IDs',
      mutate((b) => {
        b[12] = 0;
      }),
    ],
    [
      'too many IDs claimed',
      mutate((b) => {
        b[12] = 2;
      }),
    ],
    [
      'ID too short',
      mutate((b) => {
        b[13] = 4;
      }),
    ],
    ['truncated', good.subarray(0, good.length - 1)],
    ['trailing byte', Buffer.concat([good, Buffer.of(0)])],
    ['oversized', Buffer.concat([good, Buffer.alloc(MAX_PACKET_BYTES)])],
  ];
  assert.ok(decodeAnnouncement(good));
  for (const [what, p] of bad) assert.equal(decodeAnnouncement(p), null, what);
});

test('decoding arbitrary bytes never throws; encode/decode round-trips', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1500 }), (bytes) => {
      decodeAnnouncement(bytes);
    }),
  );
  const hexId = fc.uint8Array({ minLength: 8, maxLength: 64 }).map((b) => Buffer.from(b).toString('hex'));
  fc.assert(
    fc.property(
      fc.string({ unit: fc.constantFrom(...'ABCXYZ0123-_.:'), minLength: 1, maxLength: 128 }),
      fc.integer({ min: 1, max: 65535 }),
      fc.uniqueArray(hexId, { minLength: 1, maxLength: 100 }),
      (deviceId, port, discoveryIds) => {
        const heard = encodeAnnouncement({ deviceId, port, discoveryIds }).map((p) => decodeAnnouncement(p));
        assert.ok(heard.every((a) => a && a.deviceId === deviceId && a.port === port));
        assert.deepEqual(
          heard.flatMap((a) => a!.discoveryIds),
          discoveryIds,
        );
      },
    ),
  );
});
