// How many bytes of block requests this device keeps in flight to one peer (issue 13: fill the
// pipe by bytes, not by a count). Pure: the request tracker (request-tracker.ts) feeds it the clock,
// what it sent and what came back, and admits a request when `admits` says so.
//
// A link's throughput is bytes in flight / round trip. The window works like BBR's on top of the
// transport's own congestion control: it keeps the best delivered rate of the last RATE_EPOCHS
// window-limited epochs (one round trip each, at least EPOCH_MIN_MS; a max filter, because single
// epochs are noisy: answers come in bursts) and the least round trip seen. It starts moderate and
// doubles every epoch while requests wait for room (the window, not the puller's demand, holds the
// flow back) and the best rate keeps rising; once it has not risen for FLAT_LIMIT epochs the window
// holds SETTLE_RTTS × best rate × least round trip, following the rate as it changes, and probes
// upwards again every PROBE_EVERY epochs or as soon as the rate rises.
//
//   growing ── window-limited, best rate rose ──> growing (window × 2, up to maxBytes)
//      │  ── window-limited, not risen for FLAT_LIMIT epochs ──> steady (window = 2 × rate × RTT)
//   steady ── PROBE_EVERY epochs, or the rate rose ──> growing
//
// A request is also capped by count: the peer serves at most so many at once (block-server.ts,
// MAX_SERVING) and answers more with `overloaded`, which lowers this peer's cap (`overloaded`).

export type WindowPhase = 'growing' | 'steady';

export interface WindowConfig {
  initialBytes: number;
  /** the window never settles below this */
  minBytes: number;
  /** per-peer memory bound: responses in flight are buffers the puller will hold */
  maxBytes: number;
  /** requests in flight at once (the peer's serving limit) */
  maxRequests: number;
}

export interface WindowEpoch {
  start: number;
  /** bytes delivered since `start` */
  bytes: number;
  /** a request had to wait for room in the window during this epoch */
  limited: boolean;
}

export interface WindowState {
  phase: WindowPhase;
  windowBytes: number;
  maxRequests: number;
  /** the least round trip of a request seen on this link (ms); null before the first answer */
  minRttMs: number | null;
  epoch: WindowEpoch | null;
  /** delivered bytes/s of the last window-limited epochs, oldest first (at most RATE_EPOCHS) */
  rates: number[];
  /** the best rate when the window last grew (0: not yet) */
  grewAt: number;
  /** window-limited epochs in a row in which the best rate did not rise */
  flat: number;
  /** epochs spent steady since the last probe */
  steadyEpochs: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_WINDOW: WindowConfig = {
  initialBytes: 2 * MiB,
  minBytes: 1 * MiB,
  maxBytes: 64 * MiB,
  maxRequests: 256,
};

/** An epoch lasts one round trip, but never less than this (a LAN's sub-millisecond round trips are noise). */
export const EPOCH_MIN_MS = 50;
/** The best rate must rise by this factor for a doubling to count as paying. */
export const RISE = 1.25;
/** Window-limited epochs without a rise before the window settles. */
export const FLAT_LIMIT = 3;
/** Window-limited epochs whose rates the best rate is the maximum of. */
export const RATE_EPOCHS = 10;
/** Steady epochs before the window probes upwards again. */
export const PROBE_EVERY = 20;
/** A settled window holds this many round trips' worth of the measured rate. */
export const SETTLE_RTTS = 2;

export function initialWindow(cfg: WindowConfig = DEFAULT_WINDOW): WindowState {
  return {
    phase: 'growing',
    windowBytes: clamp(cfg.initialBytes, cfg.minBytes, cfg.maxBytes),
    maxRequests: cfg.maxRequests,
    minRttMs: null,
    epoch: null,
    rates: [],
    grewAt: 0,
    flat: 0,
    steadyEpochs: 0,
  };
}

/**
 * May a request of `size` bytes go now, with `bytes` in `count` requests already in flight?
 * With nothing in flight it always may: a request larger than the window must still go.
 */
export function admits(s: WindowState, bytes: number, count: number, size: number): boolean {
  if (count === 0) return true;
  return count < s.maxRequests && bytes + size <= s.windowBytes;
}

/** A request found no room: the window, not the demand, holds the flow back in this epoch. */
export function blocked(s: WindowState, now: number): WindowState {
  const epoch = s.epoch ?? { start: now, bytes: 0, limited: false };
  return epoch.limited ? s : { ...s, epoch: { ...epoch, limited: true } };
}

/** The peer answered `overloaded` with `count` requests in flight: never send it that many again. */
export function overloaded(s: WindowState, count: number): WindowState {
  return { ...s, maxRequests: Math.max(1, Math.min(s.maxRequests, count - 1)) };
}

/** An answer of `bytes` came back `rttMs` after its request went out. */
export function delivered(s: WindowState, cfg: WindowConfig, bytes: number, rttMs: number, now: number): WindowState {
  const minRttMs = s.minRttMs === null ? rttMs : Math.min(s.minRttMs, rttMs);
  const epoch = s.epoch ?? { start: now - Math.max(rttMs, 0), bytes: 0, limited: false };
  const grown: WindowEpoch = { ...epoch, bytes: epoch.bytes + bytes };
  const elapsed = now - grown.start;
  if (elapsed < Math.max(minRttMs, EPOCH_MIN_MS)) return { ...s, minRttMs, epoch: grown };
  return endEpoch({ ...s, minRttMs, epoch: null }, cfg, grown, elapsed, now);
}

function endEpoch(s: WindowState, cfg: WindowConfig, e: WindowEpoch, elapsed: number, now: number): WindowState {
  const next: WindowState = { ...s, epoch: { start: now, bytes: 0, limited: false } };
  // the puller did not ask for more than the window: its demand, not the link, set this rate
  if (!e.limited) return s.phase === 'steady' ? probeLater(next, cfg) : next;
  next.rates = [...s.rates, (e.bytes * 1000) / elapsed].slice(-RATE_EPOCHS);
  const best = Math.max(...next.rates);
  const rose = best >= s.grewAt * RISE;
  if (rose)
    return { ...next, phase: 'growing', flat: 0, steadyEpochs: 0, grewAt: best, windowBytes: Math.min(cfg.maxBytes, s.windowBytes * 2) };
  if (s.phase === 'steady') return probeLater({ ...next, windowBytes: settled(next, cfg, best, cfg.maxBytes) }, cfg);
  if (s.flat + 1 < FLAT_LIMIT) return { ...next, flat: s.flat + 1 };
  // doubling stopped paying: hold what the best rate needs, no more (memory, and queues at the peer)
  return { ...next, phase: 'steady', flat: 0, steadyEpochs: 0, windowBytes: settled(next, cfg, best, s.windowBytes) };
}

/** What `best` bytes/s needs in flight over the least round trip, with room for jitter. */
function settled(s: WindowState, cfg: WindowConfig, best: number, atMost: number): number {
  const need = (best * SETTLE_RTTS * Math.max(s.minRttMs ?? 0, EPOCH_MIN_MS)) / 1000;
  return clamp(Math.round(need), cfg.minBytes, Math.max(cfg.minBytes, atMost));
}

/** A steady epoch passed: after PROBE_EVERY of them the window tries twice its size again. */
function probeLater(s: WindowState, cfg: WindowConfig): WindowState {
  if (s.steadyEpochs + 1 < PROBE_EVERY) return { ...s, steadyEpochs: s.steadyEpochs + 1 };
  const best = s.rates.length ? Math.max(...s.rates) : 0;
  return { ...s, phase: 'growing', flat: 0, steadyEpochs: 0, grewAt: best, windowBytes: Math.min(cfg.maxBytes, s.windowBytes * 2) };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}
