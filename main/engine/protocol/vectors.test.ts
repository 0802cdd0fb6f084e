// PROTOCOL.md's test vectors and schema listing, checked against the code so the document
// cannot drift. Each ```vector block holds `key: value` lines; its `kind` says which inputs it
// takes, and every other key is an output recomputed here. Unknown keys fail the test.
// To regenerate the outputs after a deliberate change:
//   PEERFOLD_PRINT_VECTORS=1 node --import tsx main/engine/protocol/vectors.test.ts

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { deviceIdFromFingerprint } from '../keys/device-id.ts';
import { encodeCode } from '../keys/codes.ts';
import { authKey, deriveShareKeys, shareSecretFromReadWrite, weakenSecret, writerSigningKey, type AccessLevel } from '../keys/secrets.ts';
import { encode, uint, int } from './codec.ts';
import { buildTranscript, computeShareMac } from './handshake.ts';
import { decodeMessage, describeMessages, encodeMessage, type Message } from './messages.ts';

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

/** For each kind: the input keys, and a function computing every output key from them. */
const KINDS: Record<string, { inputs: string[]; compute: (b: Block) => Record<string, string> }> = {
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
      const t = buildTranscript({ discoveryId: b.get('discoveryId')!, level: b.get('level') as AccessLevel, prover: side('prover'), verifier: side('verifier') });
      return { proverDeviceId: side('prover').deviceId, verifierDeviceId: side('verifier').deviceId, transcript: hex(t), mac: hex(computeShareMac(unhex(b.get('authKey')!), t)) };
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
  varint: {
    inputs: ['uint', 'int'],
    compute: (b) => ({
      uintHex: b.get('uint')!.split(/\s+/).map((v) => hex(encode(uint(), Number(v)))).join(' '),
      intHex: b.get('int')!.split(/\s+/).map((v) => hex(encode(int(), Number(v)))).join(' '),
    }),
  },
};

const doc = readFileSync(DOC, 'utf8');
const blocks = parseBlocks(doc, 'vector').map(parseVector);

if (process.env.PEERFOLD_PRINT_VECTORS) {
  for (const b of blocks) {
    const kind = KINDS[b.get('kind')!]!;
    const out = kind.compute(b);
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

test('every vector in PROTOCOL.md matches the code', () => {
  for (const b of blocks) {
    const kindName = b.get('kind')!;
    const kind = KINDS[kindName];
    assert.ok(kind, `unknown vector kind ${kindName}`);
    const out = kind.compute(b);
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
