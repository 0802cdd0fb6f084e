import assert from 'node:assert/strict';
import { test } from 'node:test';
import { childAbort } from './child-abort.ts';

test('a hundred requests under one file signal add one listener, and all abort with the file', async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    const file = new AbortController();
    const kids = Array.from({ length: 100 }, () => childAbort(file.signal));
    kids.slice(0, 50).forEach((k) => k.release());
    file.abort(new Error('file pull stopped'));
    await new Promise((r) => setImmediate(r));
    assert.equal(kids.filter((k) => k.controller.signal.aborted).length, 50, 'released ones are left alone');
    assert.equal((kids[99].controller.signal.reason as Error).message, 'file pull stopped');
    assert.deepEqual(
      warnings.filter((w) => w.name === 'MaxListenersExceededWarning'),
      [],
    );
  } finally {
    process.off('warning', onWarning);
  }
});

test('a child of a signal that already aborted starts aborted', () => {
  const file = new AbortController();
  file.abort(new Error('gone'));
  assert.equal(childAbort(file.signal).controller.signal.aborted, true);
});
