// Reading the DTLS certificate fingerprint out of an SDP description.
//
// libdatachannel verifies that the certificate the remote presents in the DTLS handshake hashes to
// the a=fingerprint the remote put in its SDP, so once a link is open this fingerprint *is* the
// remote's authenticated identity for the session; the share handshake MACs over it.

const FINGERPRINT_LINE = /^a=fingerprint:(\S+)\s+([0-9A-Fa-f:]+)\s*$/;

/**
 * The sha-256 fingerprint from an SDP as lowercase hex without colons (64 characters).
 * Throws when the SDP has none, or has two different ones (an ambiguous identity).
 */
export function sha256FingerprintFromSdp(sdp: string): string {
  let found: string | null = null;
  for (const raw of sdp.split(/\r?\n/)) {
    const m = FINGERPRINT_LINE.exec(raw.trim());
    if (!m || m[1].toLowerCase() !== 'sha-256') continue;
    const hex = normalizeFingerprint(m[2]);
    if (hex === null) throw new Error('SDP has a malformed sha-256 fingerprint line');
    if (found !== null && found !== hex) throw new Error('SDP has two different sha-256 fingerprints');
    found = hex;
  }
  if (found === null) throw new Error('SDP has no a=fingerprint:sha-256 line (DTLS identity missing)');
  return found;
}

/** "AB:CD:..." (32 pairs) -> "abcd..."; null unless it is exactly 32 colon-separated bytes. */
export function normalizeFingerprint(text: string): string | null {
  const parts = text.split(':');
  if (parts.length !== 32 || parts.some((p) => !/^[0-9A-Fa-f]{2}$/.test(p))) return null;
  return parts.join('').toLowerCase();
}

/**
 * A description with its ICE candidates taken out: libdatachannel is given the bare description
 * first and the candidates one by one after (so that when they are added is ours to choose).
 * `mid` is the first media section's, which is where Peerfold's one data section puts them.
 */
export function splitCandidates(sdp: string): { sdp: string; candidates: string[]; mid: string } {
  const lines = sdp.split(/\r?\n/);
  const candidates: string[] = [];
  const kept: string[] = [];
  let mid = '0';
  let sawMid = false;
  for (const line of lines) {
    if (line.startsWith('a=candidate:')) candidates.push(line.slice(2).trim());
    else if (line.trim() !== 'a=end-of-candidates') kept.push(line);
    if (!sawMid && line.startsWith('a=mid:')) {
      mid = line.slice(6).trim();
      sawMid = true;
    }
  }
  return { sdp: kept.join('\r\n'), candidates, mid };
}
