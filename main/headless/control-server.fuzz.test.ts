// Fuzzing the control API's frame decoding through the real server: whatever a client sends over
// the WebSocket (random text, binary, JSON of any shape, calls with wrongly typed params), it gets
// one reply with a bad-request error (or the handler's answer for a valid call), the handler sees
// only params that pass validation, and the server keeps answering.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import type { ApiEvents, EventName, Method, Params, Result } from '../../shared/api.ts';
import { validateParams } from '../../shared/validate.ts';
import { methodName, paramKey } from '../../shared/validate.fuzz-support.ts';
import { startControlServer, type ApiHandler, type ControlServer } from './control-server.ts';

const token = 'B'.repeat(43);
const seen: { method: string; params: unknown }[] = [];
const handler: ApiHandler = {
  async call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
    seen.push({ method, params });
    return { ok: true } as Result<M>;
  },
  on<E extends EventName>(_event: E, _listener: (data: ApiEvents[E]) => void): () => void {
    return () => undefined;
  },
};

let server: ControlServer;
let ws: WebSocket;

before(async () => {
  server = await startControlServer({ handler, token, port: 0, rendererDir: null });
  ws = await new Promise<WebSocket>((resolve, reject) => {
    const s = new WebSocket(`ws://127.0.0.1:${server.port}/api`, { headers: { authorization: `Bearer ${token}` } });
    s.once('open', () => resolve(s));
    s.once('error', reject);
  });
});

after(async () => {
  ws.close();
  await server.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a reply frame, checked field by field below
function exchange(data: string | Buffer, binary = false): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply within 30 s to ${String(data).slice(0, 80)}`)), 30_000);
    ws.once('message', (d) => {
      clearTimeout(timer);
      resolve(JSON.parse(d.toString()));
    });
    ws.send(data, { binary });
  });
}

/** Sends one frame; checks it got exactly the reply the frame deserves. */
async function oneReply(data: string | Buffer, binary = false): Promise<void> {
  const before = seen.length;
  const reply = await exchange(data, binary);
  assert.equal(typeof reply.id, 'number');
  if (reply.error) {
    assert.equal(reply.error.code, 'bad-request', JSON.stringify(reply));
    assert.equal(typeof reply.error.message, 'string');
    assert.equal(seen.length, before, 'a refused call never reaches the handler');
  } else {
    assert.deepEqual(reply.result, { ok: true });
    assert.equal(seen.length, before + 1);
    const call = seen[seen.length - 1]!;
    // what reached the handler is valid, and exactly what validation makes of it
    assert.deepEqual(validateParams(call.method, call.params), call.params);
  }
}

const paramValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.constantFrom(-1, 0, 65536, 1e300, 1.5, '', '\u0000', 'a\nb', 'x'.repeat(5000)),
);
const params = fc.oneof(fc.dictionary(paramKey, paramValue, { maxKeys: 4 }), fc.jsonValue({ maxDepth: 2 }));

test('fuzz: call frames with any method and any params get one reply; only valid params reach the handler', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 40 }), methodName, params, async (id, m, p) => {
      await oneReply(JSON.stringify({ id, method: m, params: p }));
    }),
    { numRuns: 300 },
  );
});

test('fuzz: frames that are not call frames (random text, JSON of any shape, binary, cut calls) get a bad-request reply', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.string({ maxLength: 100 }),
        fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
        fc.record({ id: fc.jsonValue({ maxDepth: 1 }), method: fc.jsonValue({ maxDepth: 1 }) }).map((v) => JSON.stringify(v)),
      ),
      fc.nat(),
      async (text, cut) => {
        await oneReply(text);
        const call = JSON.stringify({ id: 7, method: 'status', params: { share: text } });
        await oneReply(call.slice(0, cut % call.length));
      },
    ),
    { numRuns: 200 },
  );
  for (const b of [Buffer.from('{"id":1,"method":"status"}'), Buffer.alloc(0), Buffer.from([0xff, 0xfe])]) {
    assert.deepEqual(await exchange(b, true), { id: -1, error: { code: 'bad-request', message: 'frames must be JSON text' } });
  }
  // deeply nested params, and an id that is not a safe integer
  const depth = 50_000;
  await oneReply(`{"id":1,"method":"status","params":{"share":${'['.repeat(depth)}${']'.repeat(depth)}}}`);
  assert.equal((await exchange(JSON.stringify({ id: 2 ** 60, method: 'status' }))).id, -1);
  // and the server still answers a good call
  assert.deepEqual(await exchange(JSON.stringify({ id: 9, method: 'status', params: {} })), { id: 9, result: { ok: true } });
});
