// How big one link's SCTP send and receive buffers are (pure). usrsctp keeps at most this much
// unacknowledged data in flight, so a buffer under the path's bandwidth-delay product caps the rate
// at buffer / RTT; one far over what the path holds lets slow start overshoot the bottleneck's
// queue into a burst of losses, which SCTP recovers from slowly (README "Long links"). The size
// comes from the round trip measured during signaling, times the rate a link should be able to
// fill, bounded per link and over all links (each byte of buffer can hold a byte of memory while
// data is queued).
//
// libdatachannel raises an association's socket buffers to its max message size when that is
// larger than the process-wide default (setSctpSettings, 1 MiB), so the per-link size is set
// through RtcConfig.maxMessageSize; the protocol's own limit on messages stays 256 KiB.

/** libdatachannel's process-wide default: never go below it. */
export const MIN_SCTP_BUFFER = 1024 * 1024;
/** one link never gets more (1 Gbit/s at RTT 130 ms) */
export const MAX_SCTP_BUFFER = 16 * 1024 * 1024;
/** all live links together */
export const SCTP_BUFFER_BUDGET = 64 * 1024 * 1024;
/** the rate a link's buffer is sized to fill at its round trip: 400 Mbit/s */
export const TARGET_BYTES_PER_SECOND = 50_000_000;

/**
 * The buffer for a new link whose round trip measured `rttMs` (null: unknown, e.g. signaling
 * through a relay that says nothing about the direct path), given what the live links hold.
 */
export function sctpBufferBytes(rttMs: number | null, liveBytes: number, targetBytesPerSecond = TARGET_BYTES_PER_SECOND): number {
  if (rttMs === null || !Number.isFinite(rttMs) || rttMs <= 0) return MIN_SCTP_BUFFER;
  const want = Math.min(MAX_SCTP_BUFFER, Math.max(MIN_SCTP_BUFFER, Math.round((rttMs / 1000) * targetBytesPerSecond)));
  const left = SCTP_BUFFER_BUDGET - liveBytes;
  // round to 64 KiB: the exact figure does not matter, and logs read better
  return Math.max(MIN_SCTP_BUFFER, Math.ceil(Math.min(want, left) / 65536) * 65536);
}
