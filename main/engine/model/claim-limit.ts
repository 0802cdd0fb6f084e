// A bound on failed invite claims. An invite's secret cannot be guessed in any useful time, but
// nothing else stopped a peer from trying claim after claim (each costing this device a link and a
// MAC): after MAX failures within the window from one device ID, or from one address (device IDs
// are free to make), further claims from it are not answered until the oldest of those failures
// leaves the window. The decisions are pure functions of the failure times; ClaimLimiter only
// keeps those times per source.

export interface ClaimLimit {
  maxFailures: number;
  windowMs: number;
}

export const CLAIM_LIMIT: ClaimLimit = { maxFailures: 5, windowMs: 10 * 60_000 };

/** The failure times still inside the window at `now` (a time ahead of `now`, from a clock set back, counts). */
export function recentFailures(times: readonly number[], now: number, limit: ClaimLimit): number[] {
  return times.filter((t) => t > now - limit.windowMs);
}

/** When a source with these failures may claim again: null when it may now. */
export function claimBlockedUntil(times: readonly number[], now: number, limit: ClaimLimit): number | null {
  const recent = recentFailures(times, now, limit).sort((a, b) => a - b);
  if (recent.length < limit.maxFailures) return null;
  return recent[recent.length - limit.maxFailures]! + limit.windowMs;
}

/** The sources a claim is counted against: the device, and the address it came from when known. */
export function claimSources(deviceId: string, address: string | null): string[] {
  return address ? [`device ${deviceId}`, `address ${address}`] : [`device ${deviceId}`];
}

/** The most sources remembered: beyond it the longest quiet ones are forgotten first. */
const MAX_SOURCES = 4096;

export class ClaimLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly limit: ClaimLimit = CLAIM_LIMIT) {}

  /** When these sources may claim again (the latest of them), or null when they may now. */
  blockedUntil(sources: readonly string[], now: number): number | null {
    let until: number | null = null;
    for (const s of sources) {
      const u = claimBlockedUntil(this.failures.get(s) ?? [], now, this.limit);
      if (u !== null && (until === null || u > until)) until = u;
    }
    return until;
  }

  failed(sources: readonly string[], now: number): void {
    for (const s of sources) {
      const recent = recentFailures(this.failures.get(s) ?? [], now, this.limit);
      const kept = recent.slice(Math.max(0, recent.length - (this.limit.maxFailures - 1)));
      // re-inserted so the map's order is least recently failed first
      this.failures.delete(s);
      this.failures.set(s, [...kept, now]);
    }
    while (this.failures.size > MAX_SOURCES) this.failures.delete(this.failures.keys().next().value!);
  }
}
