// The WebTorrent WebSocket tracker protocol, as far as Peerfold speaks it (pure). JSON text
// frames; info hashes, peer IDs and offer IDs are 20-byte "binary strings" (one character per
// byte, code 0-255), which we turn into 40 hex digits at this edge.
//
//   client -> tracker  {action:'announce', info_hash, peer_id, numwant, uploaded, downloaded, left,
//                       event?, offers?: [{offer_id, offer:{type:'offer', sdp}}]}
//   client -> tracker  {action:'announce', info_hash, peer_id, to_peer_id, offer_id, answer:{type:'answer', sdp}}
//   tracker -> client  {action:'announce', info_hash, interval?, complete?, incomplete?}  (the response)
//                      {action:'announce', info_hash, peer_id, offer_id, offer:{type, sdp}}  (someone's offer)
//                      {action:'announce', info_hash, peer_id, offer_id, answer:{type, sdp}} (an answer to ours)
//                      {'failure reason', ...} / {'warning message', ...}
//
// Everything from a tracker is untrusted: anything malformed is reported, never thrown.

import { MAX_FRAME_BYTES, MAX_SDP_CHARS } from './signaling-messages.ts';

export { MAX_FRAME_BYTES as MAX_TRACKER_FRAME_BYTES };

export type TrackerEvent = 'started' | 'update' | 'stopped';

export interface TrackerOffer {
  /** 40 hex digits */
  offerId: string;
  sdp: string;
}

export interface AnnounceRequest {
  infoHash: string;
  peerId: string;
  event?: TrackerEvent;
  offers: TrackerOffer[];
}

export interface AnswerRequest {
  infoHash: string;
  peerId: string;
  toPeerId: string;
  offerId: string;
  sdp: string;
}

export type TrackerMessage =
  | { kind: 'response'; infoHash: string; intervalS: number | null; peers: number | null; warning: string | null }
  | { kind: 'offer'; infoHash: string; peerId: string; offerId: string; sdp: string }
  | { kind: 'answer'; infoHash: string; peerId: string; offerId: string; sdp: string }
  | { kind: 'failure'; infoHash: string | null; reason: string };

export type ParsedTrackerMessage = { ok: true; message: TrackerMessage } | { ok: false; error: string };

const HEX40 = /^[0-9a-f]{40}$/;
const MAX_REASON_CHARS = 512;

/** 40 hex digits -> the 20-character binary string the protocol carries. */
export function hexToBinaryString(hex: string): string {
  if (!HEX40.test(hex)) throw new RangeError('expected 40 lower-case hex digits');
  return Buffer.from(hex, 'hex').toString('latin1');
}

/** A 20-character binary string -> 40 hex digits, or null when it is not one. */
export function binaryStringToHex(s: unknown): string | null {
  if (typeof s !== 'string' || s.length !== 20) return null;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 255) return null;
  return Buffer.from(s, 'latin1').toString('hex');
}

/** What we send as `left`: not 0, because some trackers send a seeder's offers only to leechers. */
const LEFT = 1;

export function encodeAnnounce(r: AnnounceRequest): string {
  const frame: Record<string, unknown> = {
    action: 'announce',
    info_hash: hexToBinaryString(r.infoHash),
    peer_id: hexToBinaryString(r.peerId),
    numwant: r.offers.length,
    uploaded: 0,
    downloaded: 0,
    left: LEFT,
  };
  if (r.event) frame.event = r.event;
  if (r.offers.length)
    frame.offers = r.offers.map((o) => ({ offer_id: hexToBinaryString(o.offerId), offer: { type: 'offer', sdp: o.sdp } }));
  return JSON.stringify(frame);
}

export function encodeAnswer(r: AnswerRequest): string {
  return JSON.stringify({
    action: 'announce',
    info_hash: hexToBinaryString(r.infoHash),
    peer_id: hexToBinaryString(r.peerId),
    to_peer_id: hexToBinaryString(r.toPeerId),
    offer_id: hexToBinaryString(r.offerId),
    answer: { type: 'answer', sdp: r.sdp },
  });
}

function sdpOf(desc: unknown, type: 'offer' | 'answer'): string | null {
  if (typeof desc !== 'object' || desc === null) return null;
  const d = desc as { type?: unknown; sdp?: unknown };
  if (d.type !== type || typeof d.sdp !== 'string' || d.sdp.length === 0 || d.sdp.length > MAX_SDP_CHARS) return null;
  return d.sdp;
}

const text = (v: unknown): string | null => (typeof v === 'string' ? v.slice(0, MAX_REASON_CHARS) : null);

/** One frame from a tracker. */
export function parseTrackerMessage(raw: string): ParsedTrackerMessage {
  if (raw.length > MAX_FRAME_BYTES) return { ok: false, error: 'frame too large' };
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, error: 'not a JSON object' };
  const f = v as Record<string, unknown>;
  const infoHash = binaryStringToHex(f.info_hash);
  const failure = text(f['failure reason']);
  if (failure !== null) return { ok: true, message: { kind: 'failure', infoHash, reason: failure } };
  if (f.action !== 'announce') return { ok: false, error: `unexpected action ${JSON.stringify(String(f.action)).slice(0, 40)}` };
  if (!infoHash) return { ok: false, error: 'no valid info_hash' };
  if (f.offer !== undefined || f.answer !== undefined) {
    const peerId = binaryStringToHex(f.peer_id);
    const offerId = binaryStringToHex(f.offer_id);
    if (!peerId || !offerId) return { ok: false, error: 'an offer or answer without a valid peer_id and offer_id' };
    if (f.offer !== undefined) {
      const sdp = sdpOf(f.offer, 'offer');
      if (!sdp) return { ok: false, error: 'a malformed offer' };
      return { ok: true, message: { kind: 'offer', infoHash, peerId, offerId, sdp } };
    }
    const sdp = sdpOf(f.answer, 'answer');
    if (!sdp) return { ok: false, error: 'a malformed answer' };
    return { ok: true, message: { kind: 'answer', infoHash, peerId, offerId, sdp } };
  }
  const interval = typeof f.interval === 'number' && Number.isFinite(f.interval) && f.interval > 0 ? f.interval : null;
  const count = (x: unknown) => (typeof x === 'number' && Number.isInteger(x) && x >= 0 ? x : null);
  const complete = count(f.complete);
  const incomplete = count(f.incomplete);
  const peers = complete === null && incomplete === null ? null : (complete ?? 0) + (incomplete ?? 0);
  return { ok: true, message: { kind: 'response', infoHash, intervalS: interval, peers, warning: text(f['warning message']) } };
}
