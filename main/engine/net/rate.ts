// Current transfer rate from a growing byte counter: the bytes of the last few seconds divided by
// their span. Pure (time is passed in), so it is tested without clocks.

export class RateMeter {
  private readonly samples: { at: number; total: number }[] = [];

  constructor(private readonly windowMs = 5000) {}

  /** Records the counter's value at time `at` (ms); call about once a second. */
  sample(at: number, total: number): void {
    this.samples.push({ at, total });
    while (this.samples.length > 2 && this.samples[1].at <= at - this.windowMs) this.samples.shift();
  }

  /** Bytes per second over the window, 0 until two samples exist. */
  rate(): number {
    if (this.samples.length < 2) return 0;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const span = last.at - first.at;
    if (span <= 0) return 0;
    return Math.max(0, ((last.total - first.total) * 1000) / span);
  }
}
