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

export interface PathTarget {
  host: string;
  port: number;
}

export interface PathSearch {
  /** the first address of the peer that answered; null when none did in time or the search was stopped */
  readonly found: Promise<PathTarget | null>;
  /** stops probing and answering */
  stop(): void;
}

export function searchPath(
  endpoint: UdxEndpoint,
  opts: { localId: number; peerId: number; targets: readonly PathTarget[]; timeoutMs?: number; log: NetLog },
): PathSearch {
  let settle!: (t: PathTarget | null) => void;
  const found = new Promise<PathTarget | null>((resolve) => (settle = resolve));
  let done = false;
  const finish = (t: PathTarget | null) => {
    if (done) return;
    done = true;
    clearInterval(timer);
    clearTimeout(giveUp);
    settle(t);
  };
  const targets = [...opts.targets];
  const known = new Set(targets.map((t) => `${t.host}|${t.port}`));
  const probe = (t: PathTarget) => endpoint.sendProbe({ kind: 'probe', to: opts.peerId, from: opts.localId }, t.host, t.port);
  const unlisten = endpoint.listen(opts.localId, (p, from) => {
    if (p.from !== opts.peerId) return;
    if (p.kind === 'answer') return finish({ host: from.host, port: from.port });
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
