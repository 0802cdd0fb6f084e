// The info hash a share is announced under on internet trackers. A tracker sees it, and could
// follow a share across days if it never changed; so it is derived from the share secret and the
// UTC day, and changes at midnight (PROTOCOL.md, "Trackers"). Devices near midnight, or whose
// clocks disagree a little, also announce the neighbouring day's ID, so they still meet.
// LAN announcements keep the stable discovery ID: nobody but the LAN hears them.

import { hkdfSync } from 'node:crypto';

export const TRACKER_PERIOD_MS = 86_400_000;
/** How close to a period's edge the neighbouring period's ID is announced too. */
export const TRACKER_OVERLAP_MS = 3_600_000;
export const TRACKER_ID_BYTES = 20;

/** The period (UTC day number since 1970-01-01) a moment falls in. */
export function trackerPeriod(nowMs: number): number {
  return Math.floor(nowMs / TRACKER_PERIOD_MS);
}

/** HKDF(trackerKey, "peerfold/v1 tracker id <period>", 20), 40 lower-case hex digits. */
export function trackerIdFor(trackerKey: Uint8Array, period: number): string {
  if (!Number.isSafeInteger(period) || period < 0) throw new RangeError('a tracker period is a whole number, 0 or more');
  const bytes = hkdfSync('sha256', trackerKey, new Uint8Array(0), `peerfold/v1 tracker id ${period}`, TRACKER_ID_BYTES);
  return Buffer.from(bytes).toString('hex');
}

/** The periods whose IDs are announced at `nowMs`: the current one, and a neighbour within the overlap of an edge. */
export function trackerPeriods(nowMs: number, overlapMs = TRACKER_OVERLAP_MS): number[] {
  const p = trackerPeriod(nowMs);
  const into = nowMs - p * TRACKER_PERIOD_MS;
  const out = [p];
  if (into < overlapMs && p > 0) out.unshift(p - 1);
  if (TRACKER_PERIOD_MS - into <= overlapMs) out.push(p + 1);
  return out;
}

/** The tracker IDs of a share at `nowMs`, the current period's first. */
export function trackerIds(trackerKey: Uint8Array, nowMs: number, overlapMs = TRACKER_OVERLAP_MS): string[] {
  const current = trackerPeriod(nowMs);
  const periods = trackerPeriods(nowMs, overlapMs).sort((a, b) => Math.abs(a - current) - Math.abs(b - current));
  return periods.map((p) => trackerIdFor(trackerKey, p));
}
