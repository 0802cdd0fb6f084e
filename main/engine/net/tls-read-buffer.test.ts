// Reading a TLS socket that wraps a TCP connection into one reused buffer (tls-read-buffer.ts):
// every byte arrives, in order, through the callback and none through 'data' events; this Node
// has what it needs (a Node that lost it would silently cost the receiver its GC savings).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { createDeviceCertificate } from '../keys/cert.ts';
import { readIntoOneBuffer } from './tls-read-buffer.ts';

/** A TLS server socket and a client socket, each wrapping a TCP connection first (as tcp-bulk.ts). */
async function tlsPair(): Promise<{ server: tls.TLSSocket; client: tls.TLSSocket; close: () => void }> {
  const cert = createDeviceCertificate();
  const listener = net.createServer();
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => listener.once('connection', r));
  const raw = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  const server = new tls.TLSSocket(await accepted, { isServer: true, cert: cert.certPem, key: cert.keyPem });
  const client = tls.connect({ socket: raw, rejectUnauthorized: false });
  await new Promise((r) => client.once('secureConnect', r));
  return { server, client, close: () => (client.destroy(), server.destroy(), listener.close()) };
}

test('a TLS socket over TCP hands every decrypted byte to the callback in one reused buffer, none as data events', async () => {
  const { server, client, close } = await tlsPair();
  try {
    const seen = createHash('sha256');
    let got = 0;
    let buffers = new Set<ArrayBufferLike>();
    let dataEvents = 0;
    server.on('data', () => dataEvents++);
    assert.equal(
      readIntoOneBuffer(server, (bytes) => {
        seen.update(bytes);
        got += bytes.length;
        buffers.add(bytes.buffer);
      }),
      true,
      'this Node lets a TLS socket read into a buffer of its own',
    );
    const sent = randomBytes(3 * 1024 * 1024 + 17);
    for (let at = 0; at < sent.length; at += 100_000) client.write(sent.subarray(at, at + 100_000));
    const deadline = Date.now() + 60_000;
    while (got < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(got, sent.length);
    assert.equal(seen.digest('hex'), createHash('sha256').update(sent).digest('hex'));
    assert.equal(dataEvents, 0);
    assert.equal(buffers.size, 1, 'one buffer for every read');
    buffers = new Set();
  } finally {
    close();
  }
});

test('with PEERFOLD_TLS_READ_BUFFER=0 nothing changes: the bytes come as data events', async () => {
  const { server, client, close } = await tlsPair();
  process.env.PEERFOLD_TLS_READ_BUFFER = '0';
  try {
    assert.equal(
      readIntoOneBuffer(server, () => assert.fail('no callback')),
      false,
    );
    const arrived = new Promise<Buffer>((r) => server.once('data', r));
    client.write('hello');
    assert.equal((await arrived).toString(), 'hello');
  } finally {
    delete process.env.PEERFOLD_TLS_READ_BUFFER;
    close();
  }
});
