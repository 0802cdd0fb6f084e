// When to dial an address again (pure). Retries spread out exponentially and with jitter, so two
// devices that lost each other do not redial in lockstep, and a dead address costs little.

/** First retry after a failed dial; env PEERFOLD_RECONNECT_MS (tests shorten it). */
export const RECONNECT_MS = Number(process.env.PEERFOLD_RECONNECT_MS ?? 5_000);
/** The longest wait between dials of one address. */
export const MAX_RECONNECT_MS = 60_000;

/**
 * Milliseconds to wait after `failures` failed dials in a row (1 = the first failure): base x 2^(n-1),
 * at most MAX_RECONNECT_MS, times a random factor in [0.5, 1.5). `random` is in [0, 1).
 */
export function redialDelay(failures: number, random: number, base = RECONNECT_MS): number {
  const n = Math.max(1, failures);
  const plain = Math.min(base * 2 ** Math.min(n - 1, 16), MAX_RECONNECT_MS);
  return Math.round(plain * (0.5 + random));
}

/** After a link to a device ended: dial it again soon, at a random moment within the first second. */
export function afterLinkLoss(random: number): number {
  return 200 + Math.round(800 * random);
}
