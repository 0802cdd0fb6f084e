// Bytes of block requests in flight over all of this device's links: the global bound beside each
// link's own window (flight-window.ts), so many peers together cannot hold unbounded memory in
// answers on their way. One per device (model/network.ts), shared by every link's request tracker.

const MiB = 1024 * 1024;

/** Bytes in flight over all links of one device at most. */
export const GLOBAL_FLIGHT_BYTES = 256 * MiB;

export class FlightBudget {
  private used = 0;
  private readonly listeners = new Set<() => void>();

  constructor(readonly capBytes = GLOBAL_FLIGHT_BYTES) {}

  get inFlight(): number {
    return this.used;
  }

  /** Room for `size` more bytes; a link with nothing in flight (`alone`) may always send one request. */
  admits(size: number, alone: boolean): boolean {
    return alone || this.used + size <= this.capBytes;
  }

  take(size: number): void {
    this.used += size;
  }

  release(size: number): void {
    this.used -= size;
    // only another link can be waiting on the global bound alone: wake them all, each checks itself
    if (this.listeners.size > 1) for (const l of [...this.listeners]) l();
  }

  /** Called when room is freed; returns the unsubscribe. */
  onRoom(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
