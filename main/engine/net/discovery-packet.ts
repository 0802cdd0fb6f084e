// LAN discovery announcement: one UDP datagram, binary, so that garbage is cheap to reject.
//
//   offset  size  field
//   0       4     magic "PFDA" (0x50 0x46 0x44 0x41)
//   4       1     version, 1
//   5       1     flags, 0 (reserved; receivers ignore them)
//   6       2     signaling port, big-endian, 1..65535
//   8       1     L = device ID length, 1..128
//   9       L     device ID, printable ASCII (0x21..0x7e)
//   9+L     1     N = number of discovery IDs, 1..MAX_IDS_PER_PACKET
//   ...           N times: 1 byte K = ID length (8..64), then K bytes of ID
//
// Nothing may follow the last ID, and the whole datagram is at most MAX_PACKET_BYTES (a safe
// size under any LAN MTU). A device with more shares than fit sends several datagrams. Only
// discovery IDs (hashes) travel: never names, paths or keys.

export const DISCOVERY_MAGIC = Uint8Array.of(0x50, 0x46, 0x44, 0x41);
export const DISCOVERY_VERSION = 1;
export const MAX_PACKET_BYTES = 1200;
export const MAX_IDS_PER_PACKET = 64;
export const MIN_ID_BYTES = 8;
export const MAX_ID_BYTES = 64;
export const MAX_DEVICE_ID_BYTES = 128;

export interface Announcement {
  deviceId: string;
  /** the sender's signaling port */
  port: number;
  /** discovery IDs, lowercase hex */
  discoveryIds: string[];
}

const HEX = /^(?:[0-9a-f]{2})+$/;

function checkDeviceId(id: string): Buffer {
  const b = Buffer.from(id, 'latin1');
  if (b.length < 1 || b.length > MAX_DEVICE_ID_BYTES || !/^[\x21-\x7e]+$/.test(id)) {
    throw new Error(`device ID must be 1..${MAX_DEVICE_ID_BYTES} printable ASCII characters`);
  }
  return b;
}

/** Encodes an announcement into as many datagrams as its discovery IDs need. */
export function encodeAnnouncement(a: Announcement): Buffer[] {
  if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535) throw new Error(`signaling port ${a.port} out of range`);
  const dev = checkDeviceId(a.deviceId);
  const ids = [...new Set(a.discoveryIds)].map((hex) => {
    if (!HEX.test(hex)) throw new Error(`discovery ID ${JSON.stringify(hex)} is not lowercase hex`);
    const b = Buffer.from(hex, 'hex');
    if (b.length < MIN_ID_BYTES || b.length > MAX_ID_BYTES) throw new Error(`discovery ID must be ${MIN_ID_BYTES}..${MAX_ID_BYTES} bytes`);
    return b;
  });
  const header = 4 + 1 + 1 + 2 + 1 + dev.length + 1;
  const packets: Buffer[] = [];
  let batch: Buffer[] = [];
  let size = header;
  const flush = () => {
    if (batch.length === 0) return;
    const out = Buffer.alloc(size);
    let o = 0;
    out.set(DISCOVERY_MAGIC, o);
    o += 4;
    out[o++] = DISCOVERY_VERSION;
    out[o++] = 0;
    out.writeUInt16BE(a.port, o);
    o += 2;
    out[o++] = dev.length;
    dev.copy(out, o);
    o += dev.length;
    out[o++] = batch.length;
    for (const id of batch) {
      out[o++] = id.length;
      id.copy(out, o);
      o += id.length;
    }
    packets.push(out);
    batch = [];
    size = header;
  };
  for (const id of ids) {
    if (batch.length === MAX_IDS_PER_PACKET || size + 1 + id.length > MAX_PACKET_BYTES) flush();
    batch.push(id);
    size += 1 + id.length;
  }
  flush();
  return packets;
}

/** Decodes one datagram; null for anything that is not a well-formed v1 announcement. */
export function decodeAnnouncement(packet: Uint8Array): Announcement | null {
  const b = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  if (b.length < 4 + 1 + 1 + 2 + 1 + 1 + 1 + 1 + MIN_ID_BYTES || b.length > MAX_PACKET_BYTES) return null;
  for (let i = 0; i < 4; i++) if (b[i] !== DISCOVERY_MAGIC[i]) return null;
  if (b[4] !== DISCOVERY_VERSION) return null;
  let o = 6;
  const port = b.readUInt16BE(o);
  o += 2;
  if (port === 0) return null;
  const devLen = b[o++];
  if (devLen < 1 || devLen > MAX_DEVICE_ID_BYTES || o + devLen + 1 > b.length) return null;
  for (let i = o; i < o + devLen; i++) if (b[i] < 0x21 || b[i] > 0x7e) return null;
  const deviceId = b.toString('latin1', o, o + devLen);
  o += devLen;
  const count = b[o++];
  if (count < 1 || count > MAX_IDS_PER_PACKET) return null;
  const ids = new Set<string>();
  for (let n = 0; n < count; n++) {
    if (o >= b.length) return null;
    const len = b[o++];
    if (len < MIN_ID_BYTES || len > MAX_ID_BYTES || o + len > b.length) return null;
    ids.add(b.toString('hex', o, o + len));
    o += len;
  }
  if (o !== b.length) return null;
  return { deviceId, port, discoveryIds: [...ids] };
}
