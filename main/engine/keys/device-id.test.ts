import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  deviceIdFromFingerprint,
  parseDeviceId,
  fingerprintMatchesDeviceId,
  parseSdpFingerprint,
  deviceIdToBytes,
  deviceIdFromBytes,
  sdpFingerprint,
} from './device-id.ts';
import { RFC4648_ALPHABET } from './base32.ts';

const fp = 'ab'.repeat(32);

test('device IDs are 5 dash-separated groups of 7 and round-trip through their bytes', () => {
  for (let n = 0; n < 200; n++) {
    const hex = randomBytes(32).toString('hex');
    const id = deviceIdFromFingerprint(hex);
    assert.match(id, /^[A-Z2-7]{7}(-[A-Z2-7]{7}){4}$/);
    assert.equal(Buffer.from(deviceIdToBytes(id)).toString('hex'), hex.slice(0, 40));
    assert.equal(deviceIdFromBytes(deviceIdToBytes(id)), id);
    assert.ok(fingerprintMatchesDeviceId(hex, id));
    assert.ok(fingerprintMatchesDeviceId(sdpFingerprint(hex), id), 'SDP form with colons');
  }
});

test('parseDeviceId accepts lower case, no dashes, spaces, and 0/1/8 typed for O/I/B', () => {
  const id = deviceIdFromFingerprint(fp);
  for (const v of [
    id.toLowerCase(),
    id.replace(/-/g, ''),
    id.replace(/-/g, ' '),
    ` ${id} `,
    id.replace(/O/g, '0').replace(/I/g, '1').replace(/B/g, '8'),
  ]) {
    const p = parseDeviceId(v);
    assert.ok(p.ok, v);
    assert.equal(p.deviceId, id);
  }
});

test('device ID check symbols catch every single typo and every adjacent swap', () => {
  let swaps = 0;
  for (let n = 0; n < 20; n++) {
    const id = deviceIdFromFingerprint(randomBytes(32).toString('hex')).replace(/-/g, '');
    for (let i = 0; i < id.length; i++) {
      for (const c of RFC4648_ALPHABET) {
        if (c === id[i]) continue;
        assert.ok(!parseDeviceId(id.slice(0, i) + c + id.slice(i + 1)).ok);
      }
      if (i + 1 < id.length && id[i] !== id[i + 1]) {
        swaps++;
        assert.ok(!parseDeviceId(id.slice(0, i) + id[i + 1] + id[i] + id.slice(i + 2)).ok);
      }
    }
  }
  assert.ok(swaps > 500);
});

test('parseDeviceId says what is wrong', () => {
  const id = deviceIdFromFingerprint(fp);
  const err = (t: string) => {
    const p = parseDeviceId(t);
    assert.ok(!p.ok);
    return p.error;
  };
  assert.match(err(''), /no device ID/);
  assert.match(err(id.slice(0, -1)), /wrong length/);
  assert.match(err(`${id.slice(0, -1)}9`), /invalid character '9'/);
  const typo = `${id.slice(0, 3)}${id[3] === 'A' ? 'C' : 'A'}${id.slice(4)}`;
  assert.match(err(typo), /checksum mismatch/);
});

test('fingerprintMatchesDeviceId rejects other certificates and junk', () => {
  const id = deviceIdFromFingerprint(fp);
  assert.ok(!fingerprintMatchesDeviceId('ac'.repeat(32), id));
  assert.ok(!fingerprintMatchesDeviceId('xyz', id));
  assert.ok(!fingerprintMatchesDeviceId(fp, 'nonsense'));
  // only the first 20 bytes are the ID; the rest of the fingerprint does not matter to it
  assert.ok(fingerprintMatchesDeviceId(`${fp.slice(0, 40)}${'00'.repeat(12)}`, id));
});

test('parseSdpFingerprint reads the sha-256 line, refuses others and disagreements', () => {
  const line = (hex: string) => `a=fingerprint:sha-256 ${sdpFingerprint(hex)}`;
  const sdp = ['v=0', 'o=rtc 1 0 IN IP4 127.0.0.1', 's=-', line(fp), 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', line(fp), ''].join(
    '\r\n',
  );
  assert.equal(parseSdpFingerprint(sdp), fp);
  assert.equal(parseSdpFingerprint('v=0\r\n'), null);
  assert.equal(parseSdpFingerprint(`${line(fp)}\r\n${line('cd'.repeat(32))}\r\n`), null);
  assert.equal(parseSdpFingerprint(`a=fingerprint:sha-1 ${sdpFingerprint(fp).slice(0, 59)}\r\n`), null);
});
