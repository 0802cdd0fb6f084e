// PROTOCOL.md's test vectors and schema listing, checked against the code so the document
// cannot drift. Each ```vector block holds `key: value` lines; its `kind` says which inputs it
// takes, and every other key is an output recomputed here. Unknown keys fail the test.
// Besides the wire format, vectors pin what other modules must do identically everywhere:
// chunking and content hashes (scan/), the LAN announcement (net/), conflict and archive names
// and the choice of the global version (sync/).
// To regenerate the outputs after a deliberate change:
//   PEERFOLD_PRINT_VECTORS=1 node --import tsx main/engine/protocol/vectors.test.ts

import { test } from 'node:test';
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
import { decide } from '../sync/decide.ts';

const DOC = new URL('../../../PROTOCOL.md', import.meta.url);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

type Block = Map<string, string>;

function parseBlocks(text: string, info: string): string[] {
  const out: string[] = [];
  const re = new RegExp('^```' + info + '\\n([\\s\\S]*?)^```$', 'gm');
  for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

function parseVector(body: string): Block {
  const b: Block = new Map();
  for (const line of body.split('\n')) {
    if (!line.trim()) continue;
    const i = line.indexOf(':');
    assert.ok(i > 0, `vector line without a key: ${line}`);
    b.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return b;
}

/** Message JSON: byte fields are written "hex:..." */
const reviveBytes = (_k: string, v: unknown) => (typeof v === 'string' && v.startsWith('hex:') ? unhex(v.slice(4)) : v);

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

type Compute = (b: Block) => Record<string, string> | Promise<Record<string, string>>;

/** For each kind: the input keys, and a function computing every output key from them. */
const KINDS: Record<string, { inputs: string[]; compute: Compute }> = {
  secrets: {
    inputs: ['readWriteSecret'],
    compute: (b) => {
      const rw = shareSecretFromReadWrite(unhex(b.get('readWriteSecret')!));
      const ro = weakenSecret(rw, 'read-only');
      const enc = weakenSecret(rw, 'encrypted');
      const keys = deriveShareKeys(rw);
      return {
        writerPublicKey: hex(writerSigningKey(rw.secret).publicKey),
        writerKeyHash: hex(rw.writerKeyHash),
        readOnlySecret: hex(ro.secret),
        encryptedSecret: hex(enc.secret),
        discoveryId: keys.discoveryIdHex,
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
    compute: (b) => ({ deviceId: deviceIdFromFingerprint(b.get('fingerprint')!) }),
  },
  transcript: {
    inputs: ['discoveryId', 'level', 'proverFingerprint', 'proverNonce', 'verifierFingerprint', 'verifierNonce', 'authKey'],
    compute: (b) => {
      const side = (who: string) => {
        const fingerprint = b.get(`${who}Fingerprint`)!;
        return { fingerprint, deviceId: deviceIdFromFingerprint(fingerprint), nonce: unhex(b.get(`${who}Nonce`)!) };
      };
      const t = buildTranscript({
        discoveryId: b.get('discoveryId')!,
        level: b.get('level') as AccessLevel,
        prover: side('prover'),
        verifier: side('verifier'),
      });
      return {
        proverDeviceId: side('prover').deviceId,
        verifierDeviceId: side('verifier').deviceId,
        transcript: hex(t),
        mac: hex(computeShareMac(unhex(b.get('authKey')!), t)),
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
    compute: (b) => {
      const issuer = deviceIdFromFingerprint(b.get('issuerFingerprint')!);
      const terms = {
        issuer,
        discoveryId: b.get('discoveryId')!,
        id: b.get('inviteId')!,
        secret: unhex(b.get('inviteSecret')!),
        expiresAt: Number(b.get('expiresAt')) * 1000,
        level: b.get('level') as AccessLevel,
      };
      const code = encodeInvite(terms);
      const back = parseInvite(code);
      assert.ok(
        back.ok && back.invite.issuer === issuer && back.invite.expiresAt === terms.expiresAt,
        'the code parses back to the invite',
      );
      const fp = b.get('joinerFingerprint')!;
      const sides = {
        local: { fingerprint: fp, deviceId: deviceIdFromFingerprint(fp), nonce: unhex(b.get('joinerNonce')!) },
        peer: { fingerprint: b.get('issuerFingerprint')!, deviceId: issuer, nonce: unhex(b.get('issuerNonce')!) },
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
    compute: (b) => {
      const keys = deriveShareKeys(shareSecretFromReadWrite(unhex(b.get('readWriteSecret')!)));
      const entry = JSON.parse(b.get('entry')!, reviveBytes) as SignedEntry;
      const signer = new EntrySigner(keys.discoveryId, keys.writerKeyHash, keys.readWriteSecret);
      const signature = signer.sign(entry);
      assert.equal(signer.check(entry, signature), null, 'the signature checks');
      assert.notEqual(signer.check({ ...entry, mtimeMs: entry.mtimeMs + 1 }, signature), null, 'an altered entry fails');
      return { signedBytes: hex(signedEntryBytes(keys.discoveryId, entry)), signature: hex(signature) };
    },
  },
  message: {
    inputs: ['json'],
    compute: (b) => {
      const msg = JSON.parse(b.get('json')!, reviveBytes) as Message;
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
        min: String(DEFAULT_CDC_PARAMS.min),
        avg: String(DEFAULT_CDC_PARAMS.avg),
        max: String(DEFAULT_CDC_PARAMS.max),
        maskS: h32(maskS),
        maskL: h32(maskL),
      };
    },
  },
  cdc: {
    inputs: ['inputSeed', 'inputLength', 'min', 'avg', 'max'],
    // through the scanner's own file hasher, so the vector covers what devices really index
    compute: async (b) => {
      const data = cdcInput(b.get('inputSeed')!, Number(b.get('inputLength')));
      const dir = mkdtempSync(join(tmpdir(), 'peerfold-vector-'));
      try {
        const file = join(dir, 'input');
        writeFileSync(file, data);
        const params = { min: Number(b.get('min')), avg: Number(b.get('avg')), max: Number(b.get('max')) };
        const h = await hashFile(file, { params });
        const sizes = [...h.chunkSizes];
        const chunks = sizes.map((size, i) => ({ hash: h.chunkHashes.subarray(i * 32, i * 32 + 32), size }));
        assert.equal(
          receivedHash({ size: data.length, chunkCount: chunks.length, chunks }),
          h.hash,
          'a receiver computes the same content hash',
        );
        return { chunkSizes: sizes.join(' '), firstChunkHash: hex(chunks[0]!.hash), contentHash: h.hash };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
  'content-hash': {
    inputs: ['symlinkTarget'],
    compute: (b) => ({
      emptyFileHash: receivedHash({}),
      symlinkHash: receivedHash({ type: 'symlink', symlinkTarget: b.get('symlinkTarget')! }),
    }),
  },
  'discovery-packet': {
    inputs: ['deviceId', 'port', 'discoveryIds'],
    compute: (b) => {
      const a = { deviceId: b.get('deviceId')!, port: Number(b.get('port')), discoveryIds: b.get('discoveryIds')!.split(/\s+/) };
      const packets = encodeAnnouncement(a);
      for (const p of packets) assert.ok(decodeAnnouncement(p), 'the packet decodes');
      assert.deepEqual(
        packets.flatMap((p) => decodeAnnouncement(p)!.discoveryIds),
        a.discoveryIds,
      );
      return { hex: packets.map((p) => hex(p)).join(' ') };
    },
  },
  'conflict-name': {
    inputs: ['path', 'deviceName', 'deviceId', 'localTime'],
    compute: (b) => ({
      conflictPath: conflictPath(
        b.get('path')!,
        { name: b.get('deviceName')!, id: b.get('deviceId')! },
        localTime(b.get('localTime')!),
        () => false,
      ),
    }),
  },
  'archive-name': {
    inputs: ['path', 'localTime', 'modifiedBy', 'version'],
    compute: (b) => {
      const tag = versionTag({ modifiedBy: b.get('modifiedBy')!, version: JSON.parse(b.get('version')!) });
      return { versionTag: tag, archivePath: archivePath(b.get('path')!, localTime(b.get('localTime')!), tag, () => false) };
    },
  },
  global: {
    inputs: ['entries'],
    compute: (b) => {
      const entries = JSON.parse(b.get('entries')!) as Versioned[];
      const winner = pickGlobal(entries)!;
      for (const order of [[...entries].reverse(), [...entries.slice(1), entries[0]!]]) {
        assert.equal(pickGlobal(order), winner, 'the same winner in any order');
      }
      return { winner: String(entries.indexOf(winner)) };
    },
  },
  decide: {
    inputs: ['self', 'local', 'global'],
    compute: (b) => ({ decision: JSON.stringify(decide(JSON.parse(b.get('local')!), JSON.parse(b.get('global')!), b.get('self')!)) }),
  },
  varint: {
    inputs: ['uint', 'int'],
    compute: (b) => ({
      uintHex: b
        .get('uint')!
        .split(/\s+/)
        .map((v) => hex(encode(uint(), Number(v))))
        .join(' '),
      intHex: b
        .get('int')!
        .split(/\s+/)
        .map((v) => hex(encode(int(), Number(v))))
        .join(' '),
    }),
  },
};

const doc = readFileSync(DOC, 'utf8');
const blocks = parseBlocks(doc, 'vector').map(parseVector);

if (process.env.PEERFOLD_PRINT_VECTORS) {
  for (const b of blocks) {
    const kind = KINDS[b.get('kind')!]!;
    const out = await kind.compute(b);
    console.log('```vector');
    console.log(`kind: ${b.get('kind')}`);
    for (const k of kind.inputs) console.log(`${k}: ${b.get(k)}`);
    for (const [k, v] of Object.entries(out)) console.log(`${k}: ${v}`);
    console.log('```\n');
  }
  console.log('```schema');
  console.log(describeMessages());
  console.log('```');
}

test('PROTOCOL.md has vectors of every kind', () => {
  const kinds = new Set(blocks.map((b) => b.get('kind')));
  for (const k of Object.keys(KINDS)) assert.ok(kinds.has(k), `no ${k} vector in PROTOCOL.md`);
});

test('every vector in PROTOCOL.md matches the code', async () => {
  for (const b of blocks) {
    const kindName = b.get('kind')!;
    const kind = KINDS[kindName];
    assert.ok(kind, `unknown vector kind ${kindName}`);
    const out = await kind.compute(b);
    for (const key of b.keys()) {
      if (key === 'kind' || kind.inputs.includes(key)) continue;
      assert.ok(key in out, `${kindName} vector: unknown key ${key}`);
      assert.equal(b.get(key), out[key], `${kindName} vector, ${key}`);
    }
    for (const key of Object.keys(out)) assert.ok(b.has(key), `${kindName} vector lacks ${key}`);
  }
});

test("PROTOCOL.md's message schema listing is the code's", () => {
  const listed = parseBlocks(doc, 'schema');
  assert.equal(listed.length, 1, 'one ```schema block');
  assert.equal(listed[0]!.trimEnd(), describeMessages());
});
