// Finding a UDP path to a peer's udx socket (PROTOCOL.md, "Bulk streams"): both devices send
// probes to every candidate the other offered, answer every probe they get (to the address it came
// from, which is how a NAT's mapping is learnt and opened), and take the first address that
// answered. The search keeps answering the peer's probes until stopped, so a peer whose answer was
// lost still finds the path.

import { guard, type NetLog } from './log.ts';
import type { UdxEndpoint } from './udx.ts';

export const PROBE_INTERVAL_MS = 200;
/** Addresses probed at most: the peer's offered ones plus those its probes came from. */
const MAX_TARGETS = 24;
export const PATH_TIMEOUT_MS = Number(process.env.PEERFOLD_UDX_PATH_TIMEOUT_MS ?? 8_000);

/**
 * Below this round trip the data channel stays the carrier: on loopback it moved 44 MB/s where udx
 * (one JS callback per ~1.4 KB packet on the main thread, TLS on top) moved 31-35 (npm run bench --
 * transfer, 1 GiB, quiet machine); udx pays where the path is long or lossy. The probe's round trip
 * includes the event loop's lag (2.8 ms on loopback at a link's start), hence not lower.
 */
export const UDX_MIN_RTT_MS = Number(process.env.PEERFOLD_UDX_MIN_RTT_MS ?? 15);

export interface PathTarget {
  host: string;
  port: number;
}

export interface PathSearch {
  /**
   * the first address of the peer that answered, with the time since our last probe to it (the
   * round trip, or less when it exceeds the probe interval); null when none did in time or the
   * search was stopped
   */
  readonly found: Promise<(PathTarget & { rttMs: number }) | null>;
  /** stops probing and answering */
  stop(): void;
}

export function searchPath(
  endpoint: UdxEndpoint,
  opts: { localId: number; peerId: number; targets: readonly PathTarget[]; timeoutMs?: number; log: NetLog },
): PathSearch {
  let settle!: (t: (PathTarget & { rttMs: number }) | null) => void;
  const found = new Promise<(PathTarget & { rttMs: number }) | null>((resolve) => (settle = resolve));
  const probedAt = new Map<string, number>();
  let done = false;
  const finish = (t: (PathTarget & { rttMs: number }) | null) => {
    if (done) return;
    done = true;
    clearInterval(timer);
    clearTimeout(giveUp);
    settle(t);
  };
  const targets = [...opts.targets];
  const known = new Set(targets.map((t) => `${t.host}|${t.port}`));
  const probe = (t: PathTarget) => {
    probedAt.set(`${t.host}|${t.port}`, performance.now());
    endpoint.sendProbe({ kind: 'probe', to: opts.peerId, from: opts.localId }, t.host, t.port);
  };
  const unlisten = endpoint.listen(opts.localId, (p, from) => {
    if (p.from !== opts.peerId) return;
    if (p.kind === 'answer') {
      const sent = probedAt.get(`${from.host}|${from.port}`);
      return finish({ host: from.host, port: from.port, rttMs: sent === undefined ? Infinity : performance.now() - sent });
    }
    endpoint.sendProbe({ kind: 'answer', to: opts.peerId, from: opts.localId }, from.host, from.port);
    // The peer reached us from an address it did not offer (its NAT's mapping, learnt only now):
    // probe it back at once and from then on, as ICE's triggered checks do. Our probes get through
    // its NAT because its own probe to us opened the mapping.
    const key = `${from.host}|${from.port}`;
    if (!done && !known.has(key) && known.size < MAX_TARGETS) {
      known.add(key);
      targets.push({ host: from.host, port: from.port });
      probe({ host: from.host, port: from.port });
    }
  });
  const probeAll = guard(opts.log, 'udx probe timer', () => {
    for (const t of targets) probe(t);
  });
  const timer = setInterval(probeAll, PROBE_INTERVAL_MS);
  timer.unref();
  const giveUp = setTimeout(
    guard(opts.log, 'udx path timer', () => finish(null)),
    opts.timeoutMs ?? PATH_TIMEOUT_MS,
  );
  giveUp.unref();
  probeAll();
  return {
    found,
    stop: () => {
      unlisten();
      finish(null);
    },
  };
}
