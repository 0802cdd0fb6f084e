import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeFingerprint, sha256FingerprintFromSdp } from './sdp.ts';

const FP = '49:1F:AA:FF:49:45:65:B4:2E:0F:BD:60:2D:D7:91:40:65:FB:F2:3F:19:2E:C1:D8:44:EB:0B:7A:E8:FA:B2:11';
const HEX = '491faaff494565b42e0fbd602dd7914065fbf23f192ec1d844eb0b7ae8fab211';
const sdp = (lines: string[]) => ['v=0', 'o=rtc 1 0 IN IP4 127.0.0.1', 's=-', 't=0 0', ...lines, 'a=mid:0', ''].join('\r\n');

test('reads the sha-256 fingerprint as lowercase hex', () => {
  assert.equal(sha256FingerprintFromSdp(sdp([`a=fingerprint:sha-256 ${FP}`])), HEX);
  assert.equal(sha256FingerprintFromSdp(sdp([`a=fingerprint:SHA-256 ${FP.toLowerCase()}`])), HEX);
});

test('a repeated identical fingerprint (session and media level) is fine', () => {
  assert.equal(
    sha256FingerprintFromSdp(
      sdp([`a=fingerprint:sha-256 ${FP}`, 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', `a=fingerprint:sha-256 ${FP}`]),
    ),
    HEX,
  );
});

test('ignores other hash algorithms, refuses missing, malformed or conflicting fingerprints', () => {
  assert.throws(() => sha256FingerprintFromSdp(sdp(['a=fingerprint:sha-1 AB:CD'])), /no a=fingerprint:sha-256/);
  assert.throws(() => sha256FingerprintFromSdp(sdp([])), /no a=fingerprint:sha-256/);
  assert.throws(() => sha256FingerprintFromSdp(sdp(['a=fingerprint:sha-256 AB:CD'])), /malformed/);
  const other = FP.replace(/^49/, '48');
  assert.throws(() => sha256FingerprintFromSdp(sdp([`a=fingerprint:sha-256 ${FP}`, `a=fingerprint:sha-256 ${other}`])), /two different/);
});

test('normalizeFingerprint checks shape', () => {
  assert.equal(normalizeFingerprint(FP), HEX);
  assert.equal(normalizeFingerprint(FP + ':00'), null);
  assert.equal(normalizeFingerprint(FP.replace('49', 'G9')), null);
});
