import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SCTP_BUFFER, MIN_SCTP_BUFFER, SCTP_BUFFER_BUDGET, sctpBufferBytes } from './sctp-buffer.ts';

const MiB = 1024 * 1024;

test('a link gets what its round trip needs to carry 400 Mbit/s, within 1 and 16 MiB', () => {
  assert.equal(sctpBufferBytes(null, 0), MIN_SCTP_BUFFER, 'unknown round trip: the default');
  assert.equal(sctpBufferBytes(0.3, 0), MIN_SCTP_BUFFER, 'a LAN keeps the default');
  assert.equal(sctpBufferBytes(20, 0), MIN_SCTP_BUFFER);
  const at100 = sctpBufferBytes(100, 0);
  assert.ok(at100 >= 5_000_000 && at100 < 5_000_000 + 65536, `RTT 100 ms: ${at100}`);
  assert.equal(sctpBufferBytes(1000, 0), MAX_SCTP_BUFFER, 'never more than 16 MiB');
  assert.equal(sctpBufferBytes(Number.NaN, 0), MIN_SCTP_BUFFER);
});

test('all links together stay within the budget, each keeping at least the default', () => {
  assert.equal(sctpBufferBytes(1000, SCTP_BUFFER_BUDGET - 4 * MiB), 4 * MiB);
  assert.equal(sctpBufferBytes(1000, SCTP_BUFFER_BUDGET), MIN_SCTP_BUFFER);
  assert.equal(sctpBufferBytes(1000, 10 * SCTP_BUFFER_BUDGET), MIN_SCTP_BUFFER);
});
