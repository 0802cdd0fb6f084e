import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binaryStringToHex, encodeAnnounce, encodeAnswer, hexToBinaryString, parseTrackerMessage } from './tracker-messages.ts';
import { splitCandidates } from './sdp.ts';

const H = '00ff'.repeat(10);
const P = 'ab'.repeat(20);
const O = '7f80'.repeat(10);
const bin = hexToBinaryString;

test('IDs travel as 20-character binary strings, bytes 0-255 included', () => {
  assert.equal(bin(H).length, 20);
  assert.equal(binaryStringToHex(bin(H)), H);
  assert.equal(binaryStringToHex('short'), null);
  assert.equal(binaryStringToHex('\u0100'.repeat(20)), null, 'a character above 255 is not a byte');
  assert.equal(binaryStringToHex(42), null);
  assert.throws(() => hexToBinaryString('XYZ'), RangeError);
});

test('an announce and an answer as the tracker expects them', () => {
  const a = JSON.parse(encodeAnnounce({ infoHash: H, peerId: P, event: 'started', offers: [{ offerId: O, sdp: 'v=0' }] }));
  assert.deepEqual(a, {
    action: 'announce',
    info_hash: bin(H),
    peer_id: bin(P),
    numwant: 1,
    uploaded: 0,
    downloaded: 0,
    left: 1,
    event: 'started',
    offers: [{ offer_id: bin(O), offer: { type: 'offer', sdp: 'v=0' } }],
  });
  const quiet = JSON.parse(encodeAnnounce({ infoHash: H, peerId: P, event: 'update', offers: [] }));
  assert.equal(quiet.numwant, 0);
  assert.equal(quiet.offers, undefined);
  const b = JSON.parse(encodeAnswer({ infoHash: H, peerId: P, toPeerId: H, offerId: O, sdp: 'v=0' }));
  assert.deepEqual(b, {
    action: 'announce',
    info_hash: bin(H),
    peer_id: bin(P),
    to_peer_id: bin(H),
    offer_id: bin(O),
    answer: { type: 'answer', sdp: 'v=0' },
  });
});

test('what a tracker sends: responses, offers, answers, failures; anything malformed is an error, never a throw', () => {
  const frame = (o: object) => parseTrackerMessage(JSON.stringify(o));
  assert.deepEqual(frame({ action: 'announce', info_hash: bin(H), interval: 120, complete: 1, incomplete: 2 }), {
    ok: true,
    message: { kind: 'response', infoHash: H, intervalS: 120, peers: 3, warning: null },
  });
  assert.deepEqual(
    frame({ action: 'announce', info_hash: bin(H), peer_id: bin(P), offer_id: bin(O), offer: { type: 'offer', sdp: 'v=0' } }),
    {
      ok: true,
      message: { kind: 'offer', infoHash: H, peerId: P, offerId: O, sdp: 'v=0' },
    },
  );
  assert.deepEqual(
    frame({ action: 'announce', info_hash: bin(H), peer_id: bin(P), offer_id: bin(O), answer: { type: 'answer', sdp: 'v=0' } }),
    {
      ok: true,
      message: { kind: 'answer', infoHash: H, peerId: P, offerId: O, sdp: 'v=0' },
    },
  );
  assert.deepEqual(frame({ 'failure reason': 'invalid info_hash' }), {
    ok: true,
    message: { kind: 'failure', infoHash: null, reason: 'invalid info_hash' },
  });
  for (const bad of [
    'not json',
    '[1]',
    'null',
    JSON.stringify({ action: 'scrape', info_hash: bin(H) }),
    JSON.stringify({ action: 'announce' }),
    JSON.stringify({ action: 'announce', info_hash: bin(H), peer_id: bin(P), offer_id: 'short', offer: { type: 'offer', sdp: 'x' } }),
    JSON.stringify({ action: 'announce', info_hash: bin(H), peer_id: bin(P), offer_id: bin(O), offer: { type: 'answer', sdp: 'x' } }),
    JSON.stringify({ action: 'announce', info_hash: bin(H), peer_id: bin(P), offer_id: bin(O), answer: { type: 'answer', sdp: 7 } }),
    JSON.stringify({
      action: 'announce',
      info_hash: bin(H),
      peer_id: bin(P),
      offer_id: bin(O),
      offer: { type: 'offer', sdp: 'x'.repeat(40_000) },
    }),
    'x'.repeat(70_000),
  ]) {
    assert.equal(parseTrackerMessage(bad).ok, false, bad.slice(0, 80));
  }
  const odd = frame({ action: 'announce', info_hash: bin(H), interval: -5, complete: 'many' });
  assert.deepEqual(odd, { ok: true, message: { kind: 'response', infoHash: H, intervalS: null, peers: null, warning: null } });
});

test('candidates come out of a whole description, to be added one by one', () => {
  const sdp = [
    'v=0',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'a=mid:0',
    'a=candidate:1 1 UDP 1 127.0.0.1 5000 typ host',
    'a=candidate:2 1 UDP 1 127.0.0.1 5001 typ host',
    'a=end-of-candidates',
    '',
  ].join('\r\n');
  const s = splitCandidates(sdp);
  assert.deepEqual(s.candidates, ['candidate:1 1 UDP 1 127.0.0.1 5000 typ host', 'candidate:2 1 UDP 1 127.0.0.1 5001 typ host']);
  assert.equal(s.mid, '0');
  assert.ok(!s.sdp.includes('candidate'));
  assert.ok(s.sdp.includes('a=mid:0'));
});
