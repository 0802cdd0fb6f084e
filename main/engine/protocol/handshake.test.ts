import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { deviceIdFromFingerprint } from '../keys/device-id.ts';
import { createShareSecret, deriveShareKeys, weakenSecret, type ShareKeys } from '../keys/secrets.ts';
import { Handshake, buildTranscript, computeShareMac, verifyShareMac, type HandshakeOutcome, type HandshakeOptions } from './handshake.ts';
import { decodeMessage, encodeMessage, type Message } from './messages.ts';

interface Dev {
  fingerprint: string;
  deviceId: string;
}
const dev = (): Dev => {
  const fingerprint = randomBytes(32).toString('hex');
  return { fingerprint, deviceId: deviceIdFromFingerprint(fingerprint) };
};

function opts(me: Dev, peer: Dev, shares: ShareKeys[], extra: Partial<HandshakeOptions> = {}): HandshakeOptions {
  return { local: { ...me, deviceName: 'me', clientVersion: 'test' }, remoteFingerprint: peer.fingerprint, shares, ...extra };
}

/** Runs two handshakes against each other over encoded messages until both have an outcome. */
function run(
  a: Handshake,
  b: Handshake,
  tamper: (from: 'a' | 'b', m: Message) => Message = (_, m) => m,
): [HandshakeOutcome, HandshakeOutcome] {
  const queues: Record<'a' | 'b', Message[]> = { a: [], b: [] }; // messages waiting to be delivered TO a / b
  const outcomes: Partial<Record<'a' | 'b', HandshakeOutcome>> = {};
  const post = (from: 'a' | 'b', msgs: Message[]) => {
    for (const m of msgs) queues[from === 'a' ? 'b' : 'a'].push(decodeMessage(encodeMessage(tamper(from, m))));
  };
  post('a', a.start());
  post('b', b.start());
  for (let steps = 0; steps < 50 && (queues.a.length || queues.b.length); steps++) {
    for (const [who, hs] of [
      ['a', a],
      ['b', b],
    ] as const) {
      const m = queues[who].shift();
      if (!m || outcomes[who]) continue;
      const step = hs.receive(m);
      post(who, step.send);
      if (step.outcome) outcomes[who] = step.outcome;
    }
  }
  assert.ok(outcomes.a && outcomes.b, 'both sides reached an outcome');
  return [outcomes.a, outcomes.b];
}

test('two devices with the same code accept each other for that share only', () => {
  const [A, B] = [dev(), dev()];
  const common = createShareSecret();
  const onlyA = deriveShareKeys(createShareSecret());
  const [oa, ob] = run(new Handshake(opts(A, B, [deriveShareKeys(common), onlyA])), new Handshake(opts(B, A, [deriveShareKeys(common)])));
  for (const [o, peer] of [
    [oa, B],
    [ob, A],
  ] as const) {
    assert.ok(o.accepted, JSON.stringify(o));
    assert.equal(o.peer.deviceId, peer.deviceId);
    assert.deepEqual(o.shares, [{ share: deriveShareKeys(common).discoveryIdHex, peerLevel: 'read-write', ourLevel: 'read-write' }]);
  }
});

test('levels: each side learns the most it can verify of the other', () => {
  const [A, B] = [dev(), dev()];
  const s = createShareSecret();
  const [oa, ob] = run(
    new Handshake(opts(A, B, [deriveShareKeys(s)])),
    new Handshake(opts(B, A, [deriveShareKeys(weakenSecret(s, 'encrypted'))])),
  );
  assert.ok(oa.accepted && ob.accepted);
  assert.deepEqual(oa.shares[0]!.peerLevel, 'encrypted'); // B holds only the encrypted level
  assert.deepEqual(oa.shares[0]!.ourLevel, 'encrypted'); // B can only check that much of A
  assert.deepEqual(ob.shares[0]!.peerLevel, 'encrypted');
});

test('a wrong code is refused on both sides, with a reason', () => {
  const [A, B] = [dev(), dev()];
  const shareA = deriveShareKeys(createShareSecret());
  // B claims A's discovery ID but holds another secret
  const fake: ShareKeys = {
    ...deriveShareKeys(createShareSecret()),
    discoveryId: shareA.discoveryId,
    discoveryIdHex: shareA.discoveryIdHex,
  };
  const [oa, ob] = run(new Handshake(opts(A, B, [shareA])), new Handshake(opts(B, A, [fake])));
  assert.ok(!oa.accepted && !ob.accepted);
  assert.match(oa.reason, /proof is wrong/);
});

test('a device ID that is not the DTLS certificate is refused', () => {
  const [A, B, C] = [dev(), dev(), dev()];
  const s = deriveShareKeys(createShareSecret());
  // A sees certificate C at DTLS level while B's hello claims B
  const [oa] = run(new Handshake(opts(A, C, [s])), new Handshake(opts(B, A, [s])));
  assert.ok(!oa.accepted);
  assert.match(oa.reason, /not the certificate it presented/);
});

test('a relay in the middle cannot pass proofs along (the transcript binds the fingerprints)', () => {
  // A and B each run DTLS with a man in the middle M, who forwards their messages verbatim.
  const [A, B, M1, M2] = [dev(), dev(), dev(), dev()];
  const s = deriveShareKeys(createShareSecret());
  // M cannot present A's or B's certificate (it lacks their keys), so forwarded hellos fail the
  // device ID check against the certificate each side sees.
  const [oa, ob] = run(new Handshake(opts(A, M1, [s])), new Handshake(opts(B, M2, [s])));
  assert.ok(!oa.accepted && !ob.accepted);
  // Even past that check, a MAC made for other fingerprints fails:
  const t1 = buildTranscript({
    discoveryId: s.discoveryIdHex,
    level: 'read-write',
    prover: { ...A, nonce: new Uint8Array(32) },
    verifier: { ...M1, nonce: new Uint8Array(32) },
  });
  const t2 = buildTranscript({
    discoveryId: s.discoveryIdHex,
    level: 'read-write',
    prover: { ...A, nonce: new Uint8Array(32) },
    verifier: { ...B, nonce: new Uint8Array(32) },
  });
  assert.ok(!verifyShareMac(s.authKeys['read-write']!, t2, computeShareMac(s.authKeys['read-write']!, t1)));
});

test('a reflected proof fails: the transcript is ordered by role', () => {
  const [A, B] = [dev(), dev()];
  const s = deriveShareKeys(createShareSecret());
  const na = new Uint8Array(32).fill(1),
    nb = new Uint8Array(32).fill(2);
  const mine = computeShareMac(
    s.authKeys.encrypted!,
    buildTranscript({ discoveryId: s.discoveryId, level: 'encrypted', prover: { ...A, nonce: na }, verifier: { ...B, nonce: nb } }),
  );
  const expectFromB = buildTranscript({
    discoveryId: s.discoveryId,
    level: 'encrypted',
    prover: { ...B, nonce: nb },
    verifier: { ...A, nonce: na },
  });
  assert.ok(!verifyShareMac(s.authKeys.encrypted!, expectFromB, mine));
  assert.ok(!verifyShareMac(s.authKeys.encrypted!, expectFromB, mine.subarray(0, 16)));
});

test('messages out of order, other versions, self-connections and unexpected devices are refused', () => {
  const [A, B] = [dev(), dev()];
  const s = deriveShareKeys(createShareSecret());
  const hs = new Handshake(opts(A, B, [s]));
  hs.start();
  const step = hs.receive({ type: 'ping', id: 1 });
  assert.ok(step.outcome && !step.outcome.accepted);
  assert.match(step.outcome.reason, /sent ping where hello was due/);
  assert.deepEqual(
    step.send.map((m) => m.type),
    ['close'],
  );

  const [oa] = run(new Handshake(opts(A, B, [s])), new Handshake(opts(B, A, [s])), (from, m) =>
    from === 'b' && m.type === 'hello' ? { ...m, protocolVersion: 2 } : m,
  );
  assert.ok(!oa.accepted);
  assert.match(oa.reason, /protocol version 2/);

  const [self] = run(new Handshake(opts(A, A, [s])), new Handshake(opts(A, A, [s])));
  assert.ok(!self.accepted);

  const [ox] = run(new Handshake(opts(A, B, [s], { expectDeviceId: dev().deviceId })), new Handshake(opts(B, A, [s])));
  assert.ok(!ox.accepted);
  assert.match(ox.reason, /expected device/);

  const closed = new Handshake(opts(A, B, [s])).receive({ type: 'close', reason: 'going away' });
  assert.ok(closed.outcome && !closed.outcome.accepted);
  assert.match(closed.outcome.reason, /going away/);
  assert.deepEqual(closed.send, []);
});
