// Which peer a chunk is asked of, and what an answer that is not the chunk leads to (chunk-fetch.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fetchFromPeers, type ChunkPeers } from './chunk-fetch.ts';
import type { ResponseStatus } from '../protocol/messages.ts';
import { NoAnswerError } from '../peer/request-tracker.ts';

const good = new Uint8Array([1, 2, 3]);

interface FakePeer {
  name: string;
  /** answers in order; the last one repeats */
  answers: (Uint8Array | ResponseStatus | Error)[];
  asked: number;
  holds: boolean;
}

function peersOf(list: FakePeer[], log: string[] = []): ChunkPeers<FakePeer> {
  return {
    links: () => list,
    holds: (p) => p.holds,
    load: () => 0,
    ask: async (p) => {
      const a = p.answers[Math.min(p.asked, p.answers.length - 1)]!;
      p.asked++;
      if (a instanceof Error) throw a;
      return a;
    },
    verify: (d) => d === good,
    corrupt: (p) => log.push(`corrupt ${p.name}`),
    unanswered: (p) => log.push(`unanswered ${p.name}`),
    sleep: async (ms) => void log.push(`sleep ${ms}`),
  };
}

test('a read that failed at the only peer (io-error) is asked again soon, not given up as "no peer could supply this file"', async () => {
  const p: FakePeer = { name: 'a', answers: ['io-error', 'io-error', good], asked: 0, holds: true };
  const log: string[] = [];
  const got = await fetchFromPeers(peersOf([p], log), new AbortController().signal);
  assert.equal(got, good);
  assert.equal(p.asked, 3);
  assert.ok(log.filter((l) => l.startsWith('sleep')).length === 2, `waited before each new try: ${log.join(', ')}`);
});

test('a peer whose reads keep failing is given up after a few tries, and the file fails for now', async () => {
  const p: FakePeer = { name: 'a', answers: ['io-error'], asked: 0, holds: true };
  await assert.rejects(fetchFromPeers(peersOf([p]), new AbortController().signal), /no connected peer could supply this file/);
  assert.ok(p.asked > 1 && p.asked <= 5, `asked ${p.asked} times`);
});

test('a peer that has not got the chunk is passed over at once for the next one; a corrupt one is dropped', async () => {
  const a: FakePeer = { name: 'a', answers: ['not-found'], asked: 0, holds: true };
  const b: FakePeer = { name: 'b', answers: [new Uint8Array([9])], asked: 0, holds: true };
  const c: FakePeer = { name: 'c', answers: [good], asked: 0, holds: false };
  const log: string[] = [];
  assert.equal(await fetchFromPeers(peersOf([a, b, c], log), new AbortController().signal), good);
  assert.deepEqual([a.asked, b.asked, c.asked], [1, 1, 1]);
  assert.deepEqual(log, ['corrupt b']);
});

test('a peer that did not answer in time is reported and the next one asked', async () => {
  const a: FakePeer = { name: 'a', answers: [new NoAnswerError(120_000)], asked: 0, holds: true };
  const b: FakePeer = { name: 'b', answers: [good], asked: 0, holds: true };
  const log: string[] = [];
  assert.equal(await fetchFromPeers(peersOf([a, b], log), new AbortController().signal), good);
  assert.deepEqual(log, ['unanswered a']);
});

test('after a failed read another peer that may have the chunk is asked first', async () => {
  const a: FakePeer = { name: 'a', answers: ['io-error'], asked: 0, holds: true };
  const b: FakePeer = { name: 'b', answers: [good], asked: 0, holds: true };
  const log: string[] = [];
  assert.equal(await fetchFromPeers(peersOf([a, b], log), new AbortController().signal), good);
  assert.deepEqual([a.asked, b.asked, log.length], [1, 1, 0]);
});
