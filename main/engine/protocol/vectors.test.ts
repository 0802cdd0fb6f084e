// The protocol's test vectors (protocol-vectors.json at the repo root) and PROTOCOL.md's schema
// listing, checked against the code so neither can drift. Each vector has a `kind` that says
// which inputs it takes, and outputs recomputed here; a missing or unknown output fails the test.
// Besides the wire format, vectors pin what other modules must do identically everywhere:
// chunking and content hashes (scan/), the LAN announcement (net/), conflict and archive names
// and the choice of the global version (sync/).
// To add a vector, give its kind and inputs with empty outputs ({}), then write every vector's
// outputs from the code (after a deliberate change too) and read the diff:
//   PEERFOLD_WRITE_VECTORS=1 node --import tsx main/engine/protocol/vectors.test.ts

import { test } from 'node:test';
import { trackerIdFor } from '../keys/tracker-id.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceIdFromFingerprint } from '../keys/device-id.ts';
import { encodeCode } from '../keys/codes.ts';
import { encodeInvite, parseInvite } from '../keys/invite-code.ts';
import { inviteClaimBytes, inviteClaimMac, inviteKey } from './invite-proof.ts';
import { EntrySigner, signedEntryBytes, type SignedEntry } from '../keys/entry-signing.ts';
import { authKey, deriveShareKeys, shareSecretFromReadWrite, weakenSecret, writerSigningKey, type AccessLevel } from '../keys/secrets.ts';
import { encode, uint, int } from './codec.ts';
import { buildTranscript, computeShareMac } from './handshake.ts';
import { decodeMessage, describeMessages, encodeMessage, type FileEntryWire, type Message } from './messages.ts';
import { DEFAULT_CDC_PARAMS, GEAR, GEAR_SEED, masksFor } from '../scan/cdc.ts';
import { hashFile } from '../scan/file-hash.ts';
import { decodeAnnouncement, encodeAnnouncement } from '../net/discovery-packet.ts';
import { fromWire } from './wire.ts';
import { archivePath, conflictPath, versionTag } from '../sync/names.ts';
import { pickGlobal, type Versioned } from '../sync/global.ts';
import { decryptChunk, deriveSealingKeys, encryptChunk, nameToken, openPresented, presentEntry } from '../keys/sealing.ts';
import { decide } from '../sync/decide.ts';

const DOC = new URL('../../../PROTOCOL.md', import.meta.url);
const VECTORS = new URL('../../../protocol-vectors.json', import.meta.url);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

type Json = unknown;
type Inputs = Record<string, Json>;
interface Vector {
  kind: string;
  note?: string;
  inputs: Inputs;
  outputs: Record<string, Json>;
}

function parseBlocks(text: string, info: string): string[] {
  const out: string[] = [];
  const re = new RegExp('^```' + info + '\\n([\\s\\S]*?)^```$', 'gm');
  for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

/** A JSON object whose byte fields are written "hex:..." (entries, messages), with those fields as bytes. */
const withBytes = <T>(v: Json): T =>
  JSON.parse(JSON.stringify(v), (_k, x: unknown) => (typeof x === 'string' && x.startsWith('hex:') ? unhex(x.slice(4)) : x)) as T;

const str = (i: Inputs, k: string): string => {
  assert.equal(typeof i[k], 'string', `input ${k} is a string`);
  return i[k] as string;
};
const num = (i: Inputs, k: string): number => {
  assert.equal(typeof i[k], 'number', `input ${k} is a number`);
  return i[k] as number;
};
const list = <T>(i: Inputs, k: string): T[] => {
  assert.ok(Array.isArray(i[k]), `input ${k} is a list`);
  return i[k] as T[];
};

/** "YYYY-MM-DD HH:MM:SS" read as local time (names use local time; the vector holds in any zone). */
function localTime(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  assert.ok(m, `local time ${text} is not YYYY-MM-DD HH:MM:SS`);
  return new Date(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!).getTime();
}

/** The CDC test input: SHA-256(seed || uint32be(k)) for k = 0, 1, ..., concatenated, cut to `length`. */
function cdcInput(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  const k4 = Buffer.alloc(4);
  for (let k = 0; k * 32 < length; k++) {
    k4.writeUInt32BE(k);
    createHash('sha256')
      .update(seed)
      .update(k4)
      .digest()
      .copy(out, k * 32);
  }
  return out;
}

/** A file entry as the receiver rebuilds it (protocol/wire.ts fromWire), for its content hash. */
function receivedHash(e: Partial<FileEntryWire>): string {
  const full: FileEntryWire = {
    path: 'x',
    type: 'file',
    size: 0,
    mode: 0o644,
    mtimeMs: 0,
    version: {},
    sequence: 1,
    deleted: false,
    symlinkTarget: null,
    chunkCount: 0,
    chunks: [],
    modifiedBy: 'CEIRCEI-RCEIRCE-IRCEIRC-EIRCEIR-CEIR63D',
    ...e,
    signature: new Uint8Array(0),
  };
  return fromWire(full, 'share', full.modifiedBy).hash;
}

type Compute = (i: Inputs) => Record<string, Json> | Promise<Record<string, Json>>;

/** For each kind: the input keys, and a function computing every output key from them. */
const KINDS: Record<string, { inputs: string[]; compute: Compute }> = {
  secrets: {
    inputs: ['readWriteSecret'],
    compute: (i) => {
      const rw = shareSecretFromReadWrite(unhex(str(i, 'readWriteSecret')));
      const ro = weakenSecret(rw, 'read-only');
      const enc = weakenSecret(rw, 'encrypted');
      const keys = deriveShareKeys(rw);
      return {
        writerPublicKey: hex(writerSigningKey(rw.secret).publicKey),
        writerKeyHash: hex(rw.writerKeyHash),
        readOnlySecret: hex(ro.secret),
        encryptedSecret: hex(enc.secret),
        discoveryId: keys.discoveryIdHex,
        trackerKey: hex(keys.trackerKey),
        trackerIdPeriod20000: trackerIdFor(keys.trackerKey, 20_000),
        shareId: keys.shareId,
        authKeyReadWrite: hex(authKey(rw, 'read-write')),
        authKeyReadOnly: hex(authKey(rw, 'read-only')),
        authKeyEncrypted: hex(authKey(rw, 'encrypted')),
        codeReadWrite: encodeCode('read-write', rw.secret),
        codeReadOnly: encodeCode('read-only', ro.secret, ro.writerKeyHash),
        codeEncrypted: encodeCode('encrypted', enc.secret, enc.writerKeyHash),
      };
    },
  },
  'device-id': {
    inputs: ['fingerprint'],
    compute: (i) => ({ deviceId: deviceIdFromFingerprint(str(i, 'fingerprint')) }),
  },
  transcript: {
    inputs: ['discoveryId', 'level', 'proverFingerprint', 'proverNonce', 'verifierFingerprint', 'verifierNonce', 'authKey'],
    compute: (i) => {
      const side = (who: string) => {
        const fingerprint = str(i, `${who}Fingerprint`);
        return { fingerprint, deviceId: deviceIdFromFingerprint(fingerprint), nonce: unhex(str(i, `${who}Nonce`)) };
      };
      const t = buildTranscript({
        discoveryId: str(i, 'discoveryId'),
        level: str(i, 'level') as AccessLevel,
        prover: side('prover'),
        verifier: side('verifier'),
      });
      return {
        proverDeviceId: side('prover').deviceId,
        verifierDeviceId: side('verifier').deviceId,
        transcript: hex(t),
        mac: hex(computeShareMac(unhex(str(i, 'authKey')), t)),
      };
    },
  },
  invite: {
    inputs: [
      'issuerFingerprint',
      'discoveryId',
      'inviteId',
      'inviteSecret',
      'expiresAt',
      'level',
      'joinerFingerprint',
      'joinerNonce',
      'issuerNonce',
    ],
    compute: (i) => {
      const issuer = deviceIdFromFingerprint(str(i, 'issuerFingerprint'));
      const terms = {
        issuer,
        discoveryId: str(i, 'discoveryId'),
        id: str(i, 'inviteId'),
        secret: unhex(str(i, 'inviteSecret')),
        expiresAt: num(i, 'expiresAt') * 1000,
        level: str(i, 'level') as AccessLevel,
      };
      const code = encodeInvite(terms);
      const back = parseInvite(code);
      assert.ok(
        back.ok && back.invite.issuer === issuer && back.invite.expiresAt === terms.expiresAt,
        'the code parses back to the invite',
      );
      const fp = str(i, 'joinerFingerprint');
      const sides = {
        local: { fingerprint: fp, deviceId: deviceIdFromFingerprint(fp), nonce: unhex(str(i, 'joinerNonce')) },
        peer: { fingerprint: str(i, 'issuerFingerprint'), deviceId: issuer, nonce: unhex(str(i, 'issuerNonce')) },
      };
      return {
        issuerDeviceId: issuer,
        code,
        inviteKey: hex(inviteKey(terms.secret)),
        claimBytes: hex(inviteClaimBytes(terms, sides.local, sides.peer)),
        claimMac: hex(inviteClaimMac(terms, sides)),
      };
    },
  },
  'entry-signature': {
    inputs: ['readWriteSecret', 'entry'],
    compute: (i) => {
      const keys = deriveShareKeys(shareSecretFromReadWrite(unhex(str(i, 'readWriteSecret'))));
      const entry = withBytes<SignedEntry>(i.entry);
      const signer = new EntrySigner(keys.discoveryId, keys.writerKeyHash, keys.readWriteSecret);
      const signature = signer.sign(entry);
      assert.equal(signer.check(entry, signature), null, 'the signature checks');
      assert.notEqual(signer.check({ ...entry, mtimeMs: entry.mtimeMs + 1 }, signature), null, 'an altered entry fails');
      return { signedBytes: hex(signedEntryBytes(keys.discoveryId, entry)), signature: hex(signature) };
    },
  },
  sealing: {
    inputs: ['readWriteSecret', 'path', 'chunk'],
    compute: (i) => {
      const secret = shareSecretFromReadWrite(unhex(str(i, 'readWriteSecret')));
      const keys = deriveSealingKeys(secret);
      assert.deepEqual(deriveSealingKeys(weakenSecret(secret, 'read-only')), keys, 'read-only members derive the same keys');
      const chunk = unhex(str(i, 'chunk'));
      const enc = encryptChunk(keys, chunk);
      assert.deepEqual(decryptChunk(keys, enc.body, { hash: enc.plainHash, size: chunk.length, tag: enc.tag }), chunk);
      return {
        chunkKey: hex(keys.chunkKey),
        entryKey: hex(keys.entryKey),
        nonceKey: hex(keys.nonceKey),
        nameKey: hex(keys.nameKey),
        nameToken: hex(nameToken(keys, str(i, 'path'))),
        chunkHash: hex(enc.plainHash),
        blob: hex(enc.body),
        blobHash: hex(enc.blobHash),
        tag: hex(enc.tag),
      };
    },
  },
  'sealed-entry': {
    inputs: ['readWriteSecret', 'entry', 'chunks'],
    compute: (i) => {
      const secret = shareSecretFromReadWrite(unhex(str(i, 'readWriteSecret')));
      const keys = deriveSealingKeys(secret);
      const share = deriveShareKeys(secret);
      const signer = new EntrySigner(share.discoveryId, share.writerKeyHash, share.readWriteSecret);
      const chunks = list<string>(i, 'chunks').map(unhex);
      const entry = withBytes<FileEntryWire>(i.entry);
      const plain: FileEntryWire = {
        ...entry,
        chunkCount: chunks.length,
        chunks: chunks.map((c) => ({ hash: new Uint8Array(createHash('sha256').update(c).digest()), size: c.length })),
        signature: new Uint8Array(0),
      };
      plain.signature = signer.sign(plain);
      const p = presentEntry(
        keys,
        plain,
        chunks.map((c) => encryptChunk(keys, c)),
      );
      assert.equal(signer.check(openPresented(keys, p.wire, p.sealed).plain, plain.signature), null, 'opens to the signed entry');
      return {
        signature: hex(plain.signature),
        sealed: hex(p.sealed),
        encryptedEntry: JSON.parse(JSON.stringify(p.wire, (_k, v: unknown) => (v instanceof Uint8Array ? `hex:${hex(v)}` : v))) as Json,
      };
    },
  },
  message: {
    inputs: ['json'],
    compute: (i) => {
      const msg = withBytes<Message>(i.json);
      const bytes = encodeMessage(msg);
      assert.deepEqual({ ...decodeMessage(bytes) }, msg, 'the message decodes back to its JSON');
      return { hex: hex(bytes) };
    },
  },
  chunking: {
    inputs: [],
    compute: () => {
      const table = Buffer.alloc(1024);
      for (let i = 0; i < 256; i++) table.writeInt32BE(GEAR[i]!, i * 4);
      const { maskS, maskL } = masksFor(DEFAULT_CDC_PARAMS);
      const h32 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
      return {
        gearSeed: GEAR_SEED,
        gear0: h32(GEAR[0]!),
        gear1: h32(GEAR[1]!),
        gear255: h32(GEAR[255]!),
        gearTableSha256: createHash('sha256').update(table).digest('hex'),
        min: DEFAULT_CDC_PARAMS.min,
        avg: DEFAULT_CDC_PARAMS.avg,
        max: DEFAULT_CDC_PARAMS.max,
        maskS: h32(maskS),
        maskL: h32(maskL),
      };
    },
  },
  cdc: {
    inputs: ['inputSeed', 'inputLength', 'min', 'avg', 'max'],
    // through the scanner's own file hasher, so the vector covers what devices really index
    compute: async (i) => {
      const data = cdcInput(str(i, 'inputSeed'), num(i, 'inputLength'));
      const dir = mkdtempSync(join(tmpdir(), 'peerfold-vector-'));
      try {
        const file = join(dir, 'input');
        writeFileSync(file, data);
        const params = { min: num(i, 'min'), avg: num(i, 'avg'), max: num(i, 'max') };
        const h = await hashFile(file, { params });
        const sizes = [...h.chunkSizes];
        const chunks = sizes.map((size, i) => ({ hash: h.chunkHashes.subarray(i * 32, i * 32 + 32), size }));
        assert.equal(
          receivedHash({ size: data.length, chunkCount: chunks.length, chunks }),
          h.hash,
          'a receiver computes the same content hash',
        );
        return { chunkSizes: sizes, firstChunkHash: hex(chunks[0]!.hash), contentHash: h.hash };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
  'content-hash': {
    inputs: ['symlinkTarget'],
    compute: (i) => ({
      emptyFileHash: receivedHash({}),
      symlinkHash: receivedHash({ type: 'symlink', symlinkTarget: str(i, 'symlinkTarget') }),
    }),
  },
  'discovery-packet': {
    inputs: ['deviceId', 'port', 'discoveryIds'],
    compute: (i) => {
      const a = { deviceId: str(i, 'deviceId'), port: num(i, 'port'), discoveryIds: list<string>(i, 'discoveryIds') };
      const packets = encodeAnnouncement(a);
      for (const p of packets) assert.ok(decodeAnnouncement(p), 'the packet decodes');
      assert.deepEqual(
        packets.flatMap((p) => decodeAnnouncement(p)!.discoveryIds),
        a.discoveryIds,
      );
      return { hex: packets.map((p) => hex(p)) };
    },
  },
  'conflict-name': {
    inputs: ['path', 'deviceName', 'deviceId', 'localTime'],
    compute: (i) => ({
      conflictPath: conflictPath(
        str(i, 'path'),
        { name: str(i, 'deviceName'), id: str(i, 'deviceId') },
        localTime(str(i, 'localTime')),
        () => false,
      ),
    }),
  },
  'archive-name': {
    inputs: ['path', 'localTime', 'modifiedBy', 'version'],
    compute: (i) => {
      const tag = versionTag({ modifiedBy: str(i, 'modifiedBy'), version: i.version as Record<string, number> });
      return { versionTag: tag, archivePath: archivePath(str(i, 'path'), localTime(str(i, 'localTime')), tag, () => false) };
    },
  },
  global: {
    inputs: ['entries'],
    compute: (i) => {
      const entries = list<Versioned>(i, 'entries');
      const winner = pickGlobal(entries)!;
      for (const order of [[...entries].reverse(), [...entries.slice(1), entries[0]!]]) {
        assert.equal(pickGlobal(order), winner, 'the same winner in any order');
      }
      return { winner: entries.indexOf(winner) };
    },
  },
  decide: {
    inputs: ['self', 'local', 'global'],
    compute: (i) => ({ decision: decide(i.local as Versioned, i.global as Versioned, str(i, 'self')) }),
  },
  varint: {
    inputs: ['uint', 'int'],
    compute: (i) => ({
      uintHex: list<number>(i, 'uint').map((v) => hex(encode(uint(), v))),
      intHex: list<number>(i, 'int').map((v) => hex(encode(int(), v))),
    }),
  },
};

const doc = readFileSync(DOC, 'utf8');
const file = JSON.parse(readFileSync(VECTORS, 'utf8')) as { vectors: Vector[] };

/** Every output of `v` computed from its inputs; fails on a kind or an input the test does not know. */
async function outputsOf(v: Vector): Promise<Record<string, Json>> {
  const kind = KINDS[v.kind];
  assert.ok(kind, `unknown vector kind ${v.kind}`);
  assert.deepEqual(Object.keys(v.inputs).sort(), [...kind.inputs].sort(), `${v.kind} vector: its inputs`);
  // outputs come out as JSON would hold them (no undefined, no typed arrays)
  return JSON.parse(JSON.stringify(await kind.compute(v.inputs))) as Record<string, Json>;
}

if (process.env.PEERFOLD_WRITE_VECTORS) {
  for (const v of file.vectors) v.outputs = await outputsOf(v);
  writeFileSync(VECTORS, JSON.stringify(file, null, 2) + '\n');
  console.log("PROTOCOL.md's schema block:\n```schema\n" + describeMessages() + '\n```');
}

test('protocol-vectors.json has vectors of every kind', () => {
  const kinds = new Set(file.vectors.map((v) => v.kind));
  for (const k of Object.keys(KINDS)) assert.ok(kinds.has(k), `no ${k} vector in protocol-vectors.json`);
});

test('every vector in protocol-vectors.json matches the code', async () => {
  for (const [n, v] of file.vectors.entries()) {
    assert.deepEqual(v.outputs, await outputsOf(v), `vector ${n} (${v.kind})`);
  }
});

test("PROTOCOL.md's message schema listing is the code's", () => {
  const listed = parseBlocks(doc, 'schema');
  assert.equal(listed.length, 1, 'one ```schema block');
  assert.equal(listed[0]!.trimEnd(), describeMessages());
});

test('PROTOCOL.md points to the vectors and holds none itself', () => {
  assert.ok(doc.includes('protocol-vectors.json'));
  assert.equal(parseBlocks(doc, 'vector').length, 0);
});
