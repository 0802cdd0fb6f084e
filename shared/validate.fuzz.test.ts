// Fuzzing the API's params validation (what the daemon's WebSocket and Electron's IPC receive from
// outside the process): for any method name and any value, validateParams returns a fresh object
// holding only the method's keys, or throws ApiError('bad-request'); never anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ApiError } from './errors.ts';
import { methodNames, paramNames, validateParams } from './validate.ts';
import { paramKey } from './validate.fuzz-support.ts';

function validOrBadRequest(method: unknown, params: unknown): void {
  let out: Record<string, unknown>;
  try {
    out = validateParams(method as string, params) as Record<string, unknown>;
  } catch (e) {
    assert.ok(e instanceof ApiError, `${String(e)}`);
    assert.equal(e.code, 'bad-request');
    return;
  }
  assert.ok(methodNames.includes(method as never));
  assert.notEqual(out, params, 'a fresh object');
  const allowed = paramNames(method as never);
  for (const k of Object.keys(out)) assert.ok(allowed.includes(k), k);
  assert.deepEqual(validateParams(method as string, out), out, 'valid output validates to itself');
}

test('fuzz: any method and any params are validated or refused with bad-request', () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.constantFrom(...methodNames), fc.string({ maxLength: 10 }), fc.anything()),
      fc.oneof(
        fc.dictionary(paramKey, fc.anything({ maxDepth: 2, withNullPrototype: true, withMap: true, withTypedArray: true }), { maxKeys: 4 }),
        fc.anything({ withNullPrototype: true }),
      ),
      (m, p) => validOrBadRequest(m, p),
    ),
    { numRuns: 1000 },
  );
});

test('fuzz: each method with its own keys holding values of every type', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...methodNames),
      fc.anything({ maxDepth: 1, withBoxedValues: true, withNullPrototype: true }),
      fc.nat(),
      (m, value, pick) => {
        const names = paramNames(m);
        if (!names.length) return validOrBadRequest(m, { x: value });
        validOrBadRequest(m, { [names[pick % names.length]!]: value });
      },
    ),
    { numRuns: 1000 },
  );
});

test('hostile shapes: prototype keys, getters that throw, proxies, huge strings', () => {
  validOrBadRequest('status', JSON.parse('{"__proto__": {"share": "x"}}'));
  validOrBadRequest('share', Object.create({ path: '/inherited' }));
  const throwing = Object.defineProperty({}, 'share', {
    enumerable: true,
    get() {
      throw new Error('getter');
    },
  });
  validOrBadRequest('status', throwing);
  validOrBadRequest(
    'status',
    new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('trap');
        },
      },
    ),
  );
  validOrBadRequest('setIgnore', { share: 's', text: 'x'.repeat(2 * 1024 * 1024) });
  validOrBadRequest('share', { path: 'x'.repeat(100_000) });
});
