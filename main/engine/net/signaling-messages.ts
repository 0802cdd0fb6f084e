// The signaling protocol's frames: JSON text over a WebSocket, validated strictly on receipt.
//
//   dialer -> listener   hello      who I am, which discovery IDs I want to sync
//   listener -> dialer   welcome    who I am, which of those IDs I hold   (or error + close)
//   dialer -> listener   offer      SDP offer
//   listener -> dialer   answer     SDP answer
//   both                 candidate  ICE candidates (trickled, any number up to a cap)
//   both                 connected  my data channels are open; the dialer closes the socket
//                                   once it has sent and received one
//   both                 error      a reason; the sender closes the socket after it
//
// Unknown fields are ignored (room to grow); known fields must have the right type and size.

export const SIGNALING_VERSION = 1;
export const SIGNALING_PATH = '/peerfold/signal';
export const MAX_FRAME_BYTES = 64 * 1024;
export const MAX_DISCOVERY_IDS = 256;
export const MAX_SDP_CHARS = 32 * 1024;
export const MAX_CANDIDATE_CHARS = 1024;
export const MAX_MID_CHARS = 64;
export const MAX_REASON_CHARS = 1024;
export const MAX_DEVICE_ID_CHARS = 128;
export const MAX_DEVICE_NAME_CHARS = 256;
/** Candidate frames accepted per signaling session. */
export const MAX_CANDIDATE_FRAMES = 64;

const VIAS = ['lan', 'manual', 'internet', 'relay'] as const;
export type SignalVia = (typeof VIAS)[number];

export interface HelloFrame {
  t: 'hello';
  v: number;
  /** connection id chosen by the dialer; both sides name the link by it */
  id: string;
  deviceId: string;
  deviceName: string;
  /** discovery IDs (lowercase hex) of the shares the dialer wants to sync */
  discoveryIds: string[];
  /** the dialer's own signaling port (0 when it does not listen) */
  listenPort?: number;
  /** how the dialer found the listener */
  via?: SignalVia;
}

export interface WelcomeFrame {
  t: 'welcome';
  v: number;
  deviceId: string;
  deviceName: string;
  /** the requested discovery IDs the listener holds */
  discoveryIds: string[];
  listenPort?: number;
}

export interface OfferFrame {
  t: 'offer';
  sdp: string;
}
export interface AnswerFrame {
  t: 'answer';
  sdp: string;
}
export interface CandidateFrame {
  t: 'candidate';
  candidate: string;
  mid: string;
}
export interface ConnectedFrame {
  t: 'connected';
}
export interface ErrorFrame {
  t: 'error';
  reason: string;
}

export type SignalFrame = HelloFrame | WelcomeFrame | OfferFrame | AnswerFrame | CandidateFrame | ConnectedFrame | ErrorFrame;

export type ParseResult = { ok: true; frame: SignalFrame } | { ok: false; error: string };

const HEX_ID = /^(?:[0-9a-f]{2}){8,64}$/;
const DEVICE_ID = /^[\x21-\x7e]+$/;
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const CONN_ID = /^[0-9a-f]{16}$/;

class Invalid extends Error {}

function str(o: Record<string, unknown>, key: string, max: number, min = 0): string {
  const v = o[key];
  if (typeof v !== 'string') throw new Invalid(`${key} must be a string`);
  if (v.length < min || v.length > max) throw new Invalid(`${key} must be ${min}..${max} characters`);
  return v;
}

function deviceId(o: Record<string, unknown>): string {
  const v = str(o, 'deviceId', MAX_DEVICE_ID_CHARS, 1);
  if (!DEVICE_ID.test(v)) throw new Invalid('deviceId must be printable ASCII without spaces');
  return v;
}

function deviceName(o: Record<string, unknown>): string {
  const v = str(o, 'deviceName', MAX_DEVICE_NAME_CHARS);
  if (CONTROL_CHARS.test(v)) throw new Invalid('deviceName must not contain control characters');
  return v;
}

function discoveryIds(o: Record<string, unknown>): string[] {
  const v = o.discoveryIds;
  if (!Array.isArray(v)) throw new Invalid('discoveryIds must be an array');
  if (v.length > MAX_DISCOVERY_IDS) throw new Invalid(`more than ${MAX_DISCOVERY_IDS} discoveryIds`);
  const seen = new Set<string>();
  for (const id of v) {
    if (typeof id !== 'string' || !HEX_ID.test(id)) throw new Invalid('each discoveryId must be 16..128 lowercase hex digits');
    if (seen.has(id)) throw new Invalid('duplicate discoveryId');
    seen.add(id);
  }
  return [...seen];
}

function optionalPort(o: Record<string, unknown>): number | undefined {
  const v = o.listenPort;
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) throw new Invalid('listenPort must be an integer 0..65535');
  return v;
}

function version(o: Record<string, unknown>): number {
  const v = o.v;
  if (v !== SIGNALING_VERSION)
    throw new Invalid(`unsupported signaling version ${JSON.stringify(v)} (this device speaks ${SIGNALING_VERSION})`);
  return v;
}

function validate(o: Record<string, unknown>): SignalFrame {
  switch (o.t) {
    case 'hello': {
      const v = version(o);
      const id = str(o, 'id', 16, 16);
      if (!CONN_ID.test(id)) throw new Invalid('id must be 16 lowercase hex digits');
      const frame: HelloFrame = { t: 'hello', v, id, deviceId: deviceId(o), deviceName: deviceName(o), discoveryIds: discoveryIds(o) };
      const port = optionalPort(o);
      if (port !== undefined) frame.listenPort = port;
      if (o.via !== undefined) {
        if (typeof o.via !== 'string' || !(VIAS as readonly string[]).includes(o.via))
          throw new Invalid('via must be one of ' + VIAS.join(', '));
        frame.via = o.via as SignalVia;
      }
      return frame;
    }
    case 'welcome': {
      const frame: WelcomeFrame = {
        t: 'welcome',
        v: version(o),
        deviceId: deviceId(o),
        deviceName: deviceName(o),
        discoveryIds: discoveryIds(o),
      };
      const port = optionalPort(o);
      if (port !== undefined) frame.listenPort = port;
      return frame;
    }
    case 'offer':
      return { t: 'offer', sdp: str(o, 'sdp', MAX_SDP_CHARS, 1) };
    case 'answer':
      return { t: 'answer', sdp: str(o, 'sdp', MAX_SDP_CHARS, 1) };
    case 'candidate':
      return { t: 'candidate', candidate: str(o, 'candidate', MAX_CANDIDATE_CHARS, 1), mid: str(o, 'mid', MAX_MID_CHARS) };
    case 'connected':
      return { t: 'connected' };
    case 'error': {
      const reason = str(o, 'reason', MAX_REASON_CHARS);
      return { t: 'error', reason: reason.replace(/[\u0000-\u001f\u007f]/g, ' ') };
    }
    default:
      throw new Invalid(`unknown frame type ${JSON.stringify(o.t)?.slice(0, 40)}`);
  }
}

/** The frame's type for a message: String() would throw at an object like {"toString": 0}. */
function frameType(t: unknown): string {
  return typeof t === 'string' ? t.slice(0, 20) : typeof t;
}

/** Parses and validates one received frame; never throws. */
export function parseFrame(data: string | Uint8Array): ParseResult {
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) return { ok: false, error: 'a frame must be text or bytes' };
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
  if (size > MAX_FRAME_BYTES) return { ok: false, error: `frame of ${size} bytes exceeds ${MAX_FRAME_BYTES}` };
  const text = typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: 'frame is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: 'frame is not a JSON object' };
  try {
    return { ok: true, frame: validate(value as Record<string, unknown>) };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, error: `${frameType((value as { t?: unknown }).t)} frame: ${err.message}` };
    return { ok: false, error: `invalid frame: ${err instanceof Error ? err.message : String(err)}` };
  }
}

export function encodeFrame(frame: SignalFrame): string {
  return JSON.stringify(frame);
}

export function isHexDiscoveryId(id: string): boolean {
  return HEX_ID.test(id);
}
