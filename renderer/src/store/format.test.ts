import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAgo, formatBytes, formatConnectedFor, formatEta, formatRate, percent, plural, shortDeviceId } from './format.ts';

test('formatBytes uses decimal units and sensible precision', () => {
  assert.deepEqual([0, 999, 1000, 1234, 12_345, 999_950, 1.5e9, -1].map(formatBytes), [
    '0 B',
    '999 B',
    '1.0 kB',
    '1.2 kB',
    '12 kB',
    '1.0 MB',
    '1.5 GB',
    '—',
  ]);
  assert.equal(formatRate(0), '0 B/s');
  assert.equal(formatRate(12e6), '12 MB/s');
});

test('formatEta reads naturally', () => {
  assert.deepEqual([null, 0.2, 5, 59.4, 61, 3600, 4800, 3 * 86400].map(formatEta), [
    '—',
    '< 1 s',
    '5 s',
    '59 s',
    '1 min',
    '1 h',
    '1 h 20 min',
    '3 days',
  ]);
});

test('formatAgo', () => {
  const now = 10 * 86400_000;
  assert.equal(formatAgo(now - 10_000, now), 'just now');
  assert.equal(formatAgo(now - 5 * 60_000, now), '5 min ago');
  assert.equal(formatAgo(now - 3 * 3600_000, now), '3 h ago');
  assert.equal(formatAgo(now - 86400_000, now), 'yesterday');
  assert.match(formatAgo(now - 9 * 86400_000, now), /^\d{4}-\d\d-\d\d$/);
});

test('small helpers', () => {
  assert.equal(shortDeviceId('ABCDEFG-HIJKLMN-OPQ'), 'ABCDEFG…');
  assert.equal(shortDeviceId('abcdef0123456789abcdef'), 'abcdef012345…');
  assert.equal(shortDeviceId('short'), 'short');
  assert.equal(plural(1, 'file'), '1 file');
  assert.equal(plural(1200, 'file'), '1,200 files');
  assert.deepEqual([0.999, 1, -1, NaN].map(percent), [99, 100, 0, 0]);
});

test('formatConnectedFor', () => {
  const now = 1_700_000_000_000;
  assert.equal(formatConnectedFor(now - 20_000, now), 'less than a minute');
  assert.equal(formatConnectedFor(now - 5 * 60_000, now), '5 min');
  assert.equal(formatConnectedFor(now - 2 * 3600_000 - 59_000, now), '2 h');
  assert.equal(formatConnectedFor(now - 3 * 86400_000, now), '3 days');
  assert.equal(formatConnectedFor(now + 5_000, now), 'less than a minute', 'a clock a little ahead is not negative');
});
