// The udx wrapper on loopback: probe datagrams, path search, TLS over a udx stream with both
// certificates pinned and the link's tokens, and what it refuses.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createDeviceCertificate } from '../keys/cert.ts';
import { UdxEndpoint, duplexOf, parseCandidate, formatCandidate } from './udx.ts';
import { decodeProbe, encodeProbe } from './udx-probe.ts';
import { bindingRequest, looksLikeStun, newTransactionId, parseBindingResponse } from './stun.ts';
import { searchPath } from './udx-path.ts';
import { secureStream, type BulkStream } from './bulk-tls.ts';

const log = () => undefined;
const endpoints: UdxEndpoint[] = [];
after(async () => {
  for (const e of endpoints) await e.close();
});
function endpoint(opts: { dropIncoming?: boolean } = {}): UdxEndpoint {
  const e = UdxEndpoint.open({ bindAddress: '127.0.0.1', log, ...opts });
  endpoints.push(e);
  return e;
}

test('probe datagrams round-trip; anything else is not one', () => {
  const p = { kind: 'answer' as const, to: 0xfffffffe, from: 7 };
  assert.deepEqual(decodeProbe(encodeProbe(p)), p);
  assert.equal(decodeProbe(Buffer.from('PFUP')), null);
  const wrongVersion = encodeProbe(p);
  wrongVersion[4] = 9;
  assert.equal(decodeProbe(wrongVersion), null);
  const wrongKind = encodeProbe(p);
  wrongKind[5] = 3;
  assert.equal(decodeProbe(wrongKind), null);
  assert.equal(decodeProbe(randomBytes(14)), null);
});

test('candidates: literal IP addresses and ports only', () => {
  assert.deepEqual(parseCandidate('192.168.1.20:40111'), { host: '192.168.1.20', port: 40111, family: 4 });
  assert.deepEqual(parseCandidate('[fd00::1]:5'), { host: 'fd00::1', port: 5, family: 6 });
  for (const bad of ['example.com:80', '1.2.3.4', '1.2.3.4:0', '1.2.3.4:70000', '300.1.1.1:5', 'fd00::1:5', '[zz::1]:5', ' 1.2.3.4:5'])
    assert.equal(parseCandidate(bad), null, bad);
  assert.equal(formatCandidate('fd00::1', 5), '[fd00::1]:5');
  assert.deepEqual(endpoint().hostCandidates().length, 1);
});

test('two sockets find each other by probing, and a socket that drops datagrams is not found', async () => {
  const a = endpoint();
  const b = endpoint();
  const [ia, ib] = [a.freeStreamId(), b.freeStreamId()];
  const sa = searchPath(a, { localId: ia, peerId: ib, targets: [{ host: '127.0.0.1', port: b.port }], log });
  const sb = searchPath(b, { localId: ib, peerId: ia, targets: [{ host: '127.0.0.1', port: a.port }], log });
  assert.deepEqual(await sa.found, { host: '127.0.0.1', port: b.port });
  assert.deepEqual(await sb.found, { host: '127.0.0.1', port: a.port });
  sa.stop();
  sb.stop();

  const walled = endpoint({ dropIncoming: true });
  const [ic, iw] = [a.freeStreamId(), walled.freeStreamId()];
  const sc = searchPath(a, { localId: ic, peerId: iw, targets: [{ host: '127.0.0.1', port: walled.port }], timeoutMs: 1_000, log });
  const sw = searchPath(walled, { localId: iw, peerId: ic, targets: [{ host: '127.0.0.1', port: a.port }], timeoutMs: 1_000, log });
  assert.equal(await sc.found, null);
  assert.equal(await sw.found, null);
});

test('a peer whose own address could not be offered (behind a NAT) is found from its probes: both ends get a path', async () => {
  const a = endpoint();
  const b = endpoint();
  const [ia, ib] = [a.freeStreamId(), b.freeStreamId()];
  // a only knows an address of b's that leads nowhere; b knows a's
  const sa = searchPath(a, { localId: ia, peerId: ib, targets: [{ host: '127.0.0.1', port: 9 }], timeoutMs: 6_000, log });
  const sb = searchPath(b, { localId: ib, peerId: ia, targets: [{ host: '127.0.0.1', port: a.port }], timeoutMs: 6_000, log });
  assert.deepEqual(await sa.found, { host: '127.0.0.1', port: b.port });
  assert.deepEqual(await sb.found, { host: '127.0.0.1', port: a.port });
  sa.stop();
  sb.stop();
});

/** Two ends of a udx stream on loopback, TLS not started yet. */
async function rawPair() {
  const a = endpoint();
  const b = endpoint();
  const [ia, ib] = [a.freeStreamId(), b.freeStreamId()];
  return { a: duplexOf(a.connectStream(ia, ib, '127.0.0.1', b.port)), b: duplexOf(b.connectStream(ib, ia, '127.0.0.1', a.port)) };
}

const certA = createDeviceCertificate();
const certB = createDeviceCertificate();
const tokA = randomBytes(16);
const tokB = randomBytes(16);

function ends(over: { clientSeesServerAs?: string; serverSeesClientAs?: string; clientSendsToken?: Uint8Array } = {}) {
  return rawPair().then(({ a, b }) => [
    secureStream(a, {
      role: 'client',
      certPem: certA.certPem,
      keyPem: certA.keyPem,
      remoteFingerprint: over.clientSeesServerAs ?? certB.fingerprint,
      ourToken: tokA,
      peerToken: over.clientSendsToken ?? tokB,
      timeoutMs: 8_000,
      log,
    }),
    secureStream(b, {
      role: 'server',
      certPem: certB.certPem,
      keyPem: certB.keyPem,
      remoteFingerprint: over.serverSeesClientAs ?? certA.fingerprint,
      ourToken: tokB,
      peerToken: tokA,
      timeoutMs: 8_000,
      log,
    }),
  ]);
}

test('TLS over udx with both certificates pinned carries messages both ways, in order, and a close reaches the peer', async () => {
  const [pa, pb] = await ends();
  const [sa, sb] = (await Promise.all([pa, pb])) as [BulkStream, BulkStream];
  const got: number[] = [];
  const done = new Promise<void>((resolve) => sb.onMessage((m) => (got.push(m.length), got.length === 40 && resolve())));
  for (let i = 1; i <= 40; i++) await sa.send(randomBytes(i * 6000));
  await done;
  assert.deepEqual(
    got,
    Array.from({ length: 40 }, (_, i) => (i + 1) * 6000),
  );
  const back = new Promise<Uint8Array>((resolve) => sa.onMessage(resolve));
  await sb.send(Buffer.from('pong'));
  assert.equal(Buffer.from(await back).toString(), 'pong');
  const closed = new Promise<string>((resolve) => sb.onClose(resolve));
  sa.close('done here');
  assert.match(await closed, /closed|ended/);
  await assert.rejects(sa.send(Buffer.from('late')), /closed/);
});

test('TLS over udx refuses a certificate other than the one the link saw', async () => {
  const [pa, pb] = await ends({ clientSeesServerAs: createDeviceCertificate().fingerprint });
  await assert.rejects(pa, /certificate on the udx stream is not the one its link presented/);
  await assert.rejects(pb);
});

test('TLS over udx refuses a peer that does not know the token sent over the link', async () => {
  const [pa, pb] = await ends({ clientSendsToken: randomBytes(16) });
  await assert.rejects(pb, /wrong token/);
  await assert.rejects(pa);
});

test('STUN: responses parse (XOR-MAPPED-ADDRESS over MAPPED-ADDRESS); anything malformed is not one', () => {
  const tx = newTransactionId();
  const req = bindingRequest(tx);
  assert.ok(looksLikeStun(req));
  assert.equal(parseBindingResponse(req), null, 'a request is not a response');
  // a success response with MAPPED-ADDRESS 1.2.3.4:5 and XOR-MAPPED-ADDRESS 198.51.100.7:40000
  const attr = (type: number, value: Buffer) => Buffer.concat([Buffer.from([type >> 8, type & 255, 0, value.length]), value]);
  const xport = 40000 ^ 0x2112;
  const xaddr = Buffer.from([198 ^ 0x21, 51 ^ 0x12, 100 ^ 0xa4, 7 ^ 0x42]);
  const body = Buffer.concat([
    attr(0x0001, Buffer.from([0, 1, 0, 5, 1, 2, 3, 4])),
    attr(0x0020, Buffer.concat([Buffer.from([0, 1, xport >> 8, xport & 255]), xaddr])),
  ]);
  const head = Buffer.alloc(20);
  head.writeUInt16BE(0x0101, 0);
  head.writeUInt16BE(body.length, 2);
  head.set(req.subarray(4, 20), 4);
  assert.deepEqual(parseBindingResponse(Buffer.concat([head, body])), { host: '198.51.100.7', port: 40000, family: 4 });
  const plainOnly = Buffer.from(Buffer.concat([head, body.subarray(0, 12)]));
  plainOnly.writeUInt16BE(12, 2);
  assert.deepEqual(parseBindingResponse(plainOnly), { host: '1.2.3.4', port: 5, family: 4 });
  const truncated = Buffer.from(Buffer.concat([head, body]));
  truncated.writeUInt16BE(body.length + 8, 2);
  assert.equal(parseBindingResponse(truncated), null);
  assert.equal(parseBindingResponse(randomBytes(40)), null);
});

const coturn = spawnSync('turnserver', ['--version']).error ? 'coturn (turnserver) is not installed' : false;

test('STUN against a real server (coturn on loopback): the socket learns the address it is seen at', { skip: coturn }, async () => {
  const port = 30000 + Math.floor(Math.random() * 20000);
  const server = spawn(
    'turnserver',
    ['-n', '--no-cli', '--listening-ip=127.0.0.1', `--listening-port=${port}`, '--stun-only', '--no-tls', '--no-dtls', '--log-file=stdout'],
    { stdio: 'ignore' },
  );
  try {
    const e = endpoint();
    let mapped = null;
    for (let i = 0; i < 20 && !mapped; i++) mapped = await e.reflexiveAddress(`stun:127.0.0.1:${port}`, 1_000);
    assert.deepEqual(mapped, { host: '127.0.0.1', port: e.port, family: 4 });
    // a loopback socket never asks (it could not reach a server elsewhere): only its host candidate
    assert.deepEqual(await e.candidates([`stun:127.0.0.1:${port}`]), e.hostCandidates());
    assert.equal(await e.reflexiveAddress('stun:127.0.0.1:9', 600), null, 'no server there: no answer');
    assert.equal(await e.reflexiveAddress('turn:127.0.0.1:9'), null, 'not a STUN address');
  } finally {
    server.kill();
  }
});
