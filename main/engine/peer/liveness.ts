// When to ping a link and when to call it dead (PROTOCOL.md, "Liveness"). Pure: the link feeds it
// the clock and what it heard, and does what tick() says.

/** A quiet link is pinged after this long; one silent for DEAD_AFTER_PINGS of them is dead. */
export const PING_MS = Number(process.env.PEERFOLD_PING_MS ?? 5_000);
export const DEAD_AFTER_PINGS = 3;

export type LivenessVerdict = 'alive' | 'ping' | 'dead';

export class Liveness {
  private lastHeard: number;
  private lastPing = 0;
  private lastTick: number;

  constructor(
    now: number,
    private readonly pingMs = PING_MS,
  ) {
    this.lastHeard = now;
    this.lastTick = now;
  }

  /** Anything arrived from the peer. */
  heard(now: number): void {
    this.lastHeard = Math.max(this.lastHeard, now);
  }

  /** Milliseconds since the peer was last heard. */
  silentFor(now: number): number {
    return now - this.lastHeard;
  }

  /**
   * Called every `pingMs / 5` or so. A tick that comes far too late means this process was not
   * running (a long synchronous step, a suspended laptop): nothing could be heard meanwhile, so
   * the peer gets a fresh allowance instead of being declared dead for our own stall.
   */
  tick(now: number): LivenessVerdict {
    if (now - this.lastTick > 2 * this.pingMs) this.lastHeard = Math.max(this.lastHeard, now - this.pingMs);
    this.lastTick = now;
    const silent = now - this.lastHeard;
    if (silent >= DEAD_AFTER_PINGS * this.pingMs) return 'dead';
    if (silent >= this.pingMs && now - this.lastPing >= this.pingMs) {
      this.lastPing = now;
      return 'ping';
    }
    return 'alive';
  }
}
