// One verified chunk from whichever connected peer can give it (the swarm's fetch, model/network.ts):
// the emptiest window among the peers holding the version first, then the others; a peer that
// answers wrong bytes is dropped, one that has not got the chunk is passed over, one whose read
// failed for a moment (`io-error`) is asked again shortly. Generic over the link, so the rules are
// tested without a network (chunk-fetch.test.ts).
import type { ResponseStatus } from '../protocol/messages.ts';
import { NoAnswerError } from '../peer/request-tracker.ts';

export interface ChunkPeers<L> {
  /** the live links carrying the share, asked afresh before each try */
  links(): L[];
  /** whether this peer's index has exactly the wanted version */
  holds(l: L): boolean;
  /** bytes in flight and waiting per byte of window (request-tracker.ts FlightLoad.load) */
  load(l: L): number;
  /** one try on one link: the chunk's bytes or the peer's status; throws when the link fails */
  ask(l: L): Promise<Uint8Array | ResponseStatus>;
  /** the bytes hash to the chunk (possibly hashed on another thread: pull/chunk-verify.ts) */
  verify(data: Uint8Array): boolean | Promise<boolean>;
  /** the peer sent bytes that do not match: drop it */
  corrupt(l: L): void;
  /** the peer did not answer within the answer timeout */
  unanswered(l: L, err: NoAnswerError): void;
  /** waits `ms` (rejects when the pull is aborted) */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** Tries of one peer whose read failed (`io-error`) before it is passed over for this chunk. */
export const IO_ERROR_TRIES = 4;
/** The wait before asking a peer again after its `n`th failed read: 250 ms, 500 ms, 1 s. */
export function ioErrorWaitMs(n: number): number {
  return 250 * 2 ** (n - 1);
}

export async function fetchFromPeers<L>(peers: ChunkPeers<L>, signal: AbortSignal): Promise<Uint8Array> {
  const tried = new Set<L>();
  // a failed read at the sender is transient (a file it was reopening, a busy disk): unlike
  // 'not-found' it says nothing about whether the peer has the chunk
  const ioErrors = new Map<L, number>();
  for (;;) {
    signal.throwIfAborted();
    const candidates = peers.links().filter((l) => !tried.has(l));
    // which peers hold this version only matters when there is a choice: with one candidate the
    // lookups (a query per link per chunk) would pick it either way
    const holding = candidates.length < 2 ? candidates : candidates.filter((l) => peers.holds(l));
    const pool = holding.length ? holding : candidates;
    if (!pool.length) throw new Error(tried.size ? 'no connected peer could supply this file' : 'waiting for a peer that has this file');
    // the emptiest window: requests spread over every peer that has the data, by bytes in flight
    const l = pool.reduce((a, b) => (peers.load(b) < peers.load(a) ? b : a));
    tried.add(l);
    let got: Uint8Array | ResponseStatus;
    try {
      got = await peers.ask(l);
    } catch (err) {
      if (signal.aborted) throw err;
      if (err instanceof NoAnswerError) peers.unanswered(l, err);
      continue;
    }
    if (got === 'io-error') {
      const n = (ioErrors.get(l) ?? 0) + 1;
      ioErrors.set(l, n);
      // another peer that may have it goes first; with none left this one is asked again
      const others = peers.links().some((o) => o !== l && !tried.has(o));
      if (n < IO_ERROR_TRIES && !others) {
        tried.delete(l);
        await peers.sleep(ioErrorWaitMs(n), signal);
      }
      continue;
    }
    if (typeof got === 'string') continue;
    if (!(await peers.verify(got))) {
      peers.corrupt(l);
      continue;
    }
    return got;
  }
}
