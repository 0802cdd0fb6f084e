/**
 * A token bucket for the bandwidth limits: take(n) waits until n bytes may pass at the current
 * limit (read each time, so a settings change applies at once). A limit of 0 means unlimited.
 */
export class Throttle {
  private tokens = 0;
  private last = Date.now();

  constructor(private readonly bytesPerSec: () => number) {}

  async take(n: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const rate = this.bytesPerSec();
      if (rate <= 0) return;
      const now = Date.now();
      // at most one second of burst
      this.tokens = Math.min(rate, this.tokens + ((now - this.last) * rate) / 1000);
      this.last = now;
      if (this.tokens >= Math.min(n, rate)) {
        this.tokens -= n;
        return;
      }
      signal?.throwIfAborted();
      const wait = Math.ceil(((Math.min(n, rate) - this.tokens) * 1000) / rate);
      await new Promise((r) => setTimeout(r, Math.min(wait, 250)));
    }
  }
}

/**
 * Whether a link's traffic counts against the send and receive limits: every path does (LAN,
 * address given by hand, internet, relay), except the LAN when the user exempted it (limitLan off).
 */
export function rateLimited(via: 'lan' | 'manual' | 'internet' | 'relay', limitLan: boolean): boolean {
  return via !== 'lan' || limitLan;
}
