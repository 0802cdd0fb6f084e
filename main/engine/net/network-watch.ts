// Notices when this machine's networks change (a laptop moves from home to the office, an
// interface goes away, an address changes) by polling the interface list: no OS offers a portable
// event for it, and a look every few seconds costs nothing.
import { guard, type NetLog } from './log.ts';
import { localNetworks, networkSignature } from './local-networks.ts';
import type { LocalNetwork } from './path.ts';

export const DEFAULT_NETWORK_POLL_MS = 3_000;

export interface NetworkChange {
  /** addresses (address/netmask) before and after, as networkSignature() lists them */
  before: string;
  after: string;
}

export class NetworkWatch {
  private last: string;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly onChange: (change: NetworkChange) => void,
    opts: { intervalMs?: number; read?: () => LocalNetwork[]; log: NetLog },
  ) {
    const read = opts.read ?? localNetworks;
    this.last = networkSignature(read());
    this.timer = setInterval(
      guard(opts.log, 'network watch', () => {
        const now = networkSignature(read());
        if (now === this.last) return;
        const change = { before: this.last, after: now };
        this.last = now;
        this.onChange(change);
      }),
      opts.intervalMs ?? DEFAULT_NETWORK_POLL_MS,
    );
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
