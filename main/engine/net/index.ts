// Peer networking: links (WebRTC data channels), signaling, LAN discovery. See README.md.
export {
  createLink,
  enableNativeLog,
  heldNativeObjects,
  liveLinks,
  shutdownNet,
  PeerLink,
  DEFAULT_CONNECT_TIMEOUT_MS,
  LINK_CHANNELS,
  MAX_MESSAGE_BYTES,
  type LinkChannel,
  type LinkOptions,
  type LinkPeer,
  type LinkRole,
  type LinkSignal,
  type LinkStats,
  type LinkVia,
} from './transport.ts';
export {
  dial,
  listenSignaling,
  DialError,
  SignalingListener,
  DEFAULT_SIGNALING_PORT,
  type AcceptDecision,
  type DialErrorCode,
  type DialOptions,
  type HelloInfo,
  type ListenerOptions,
  type LocalDevice,
} from './signaling.ts';
export {
  LanDiscovery,
  startLanDiscovery,
  defaultLanTargets,
  targetsFromEnv,
  DEFAULT_DISCOVERY_PORT,
  DEFAULT_ANNOUNCE_INTERVAL_MS,
  DEFAULT_MULTICAST_GROUP,
  LOOPBACK_BROADCAST,
  type Discovered,
  type DiscoveryOptions,
} from './discovery.ts';
export { chooseLink, identityOf, type DedupeDecision, type LinkIdentity } from './dedupe.ts';
export { sha256FingerprintFromSdp } from './sdp.ts';
export { defaultNetLog, type NetLog, type NetLogLevel } from './log.ts';
