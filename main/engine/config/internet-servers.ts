// Which internet servers the settings let this device use, and in what form node-datachannel takes
// them (pure). LAN only turns them all off. PEERFOLD_NO_PUBLIC=1 (set by the tests, the e2e
// harness and CI) refuses every server named by a host name, the shipped public defaults
// included: only servers written as IP addresses (the tests' own, on loopback or in namespaces)
// are used, and nothing is looked up in DNS, so a test can never reach a public server by mistake.
import type { IceServer } from 'node-datachannel';
import type { PeerVia, Settings } from '../../../shared/api.ts';
import { isIpLiteral, parseStunUrl, parseTurnUrl, serverHost } from '../../../shared/net-servers.ts';

export interface InternetServers {
  trackers: string[];
  /** STUN and TURN servers, TURN credentials in the object form (a ':' in a user name breaks the URL form) */
  iceServers: IceServer[];
  /** the STUN servers as written ("stun:HOST:PORT"), for the udx socket's own binding requests */
  stunServers: string[];
  /** servers named in the settings and not used, and why */
  refused: { url: string; reason: string }[];
}

export const NO_PUBLIC_REASON = 'PEERFOLD_NO_PUBLIC=1: only servers given as IP addresses are used';

export function noPublicFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.PEERFOLD_NO_PUBLIC === '1';
}

export function internetServers(settings: Settings, noPublic: boolean): InternetServers {
  const out: InternetServers = { trackers: [], iceServers: [], stunServers: [], refused: [] };
  if (settings.lanOnly) return out;
  const allowed = (url: string): boolean => {
    if (!noPublic) return true;
    const host = serverHost(url);
    if (host !== null && isIpLiteral(host)) return true;
    out.refused.push({ url, reason: NO_PUBLIC_REASON });
    return false;
  };
  for (const url of settings.trackers) if (allowed(url)) out.trackers.push(url);
  for (const url of settings.stunServers) {
    const s = parseStunUrl(url);
    if (!s.ok || !allowed(url)) continue;
    out.iceServers.push({ hostname: s.value.host, port: s.value.port });
    out.stunServers.push(url);
  }
  for (const url of settings.turnServers) {
    const t = parseTurnUrl(url);
    if (!t.ok || !allowed(url)) continue;
    const v = t.value;
    out.iceServers.push({
      hostname: v.host,
      port: v.port,
      username: v.username,
      password: v.password,
      relayType: v.transport === 'tcp' ? 'TurnTcp' : v.transport === 'tls' ? 'TurnTls' : 'TurnUdp',
    });
  }
  return out;
}

/**
 * How a link is being made: to a device found by LAN discovery, to an address typed by hand (or
 * remembered from such a link), or through a tracker.
 */
export type LinkPath = 'lan' | 'manual' | 'tracker';

/**
 * The path of a dial to a remembered address, by how that address was learned: one a tracker led
 * to (a device reached through the internet or a relay) may sit behind a NAT again.
 */
export function pathOfAddress(learnedVia: PeerVia): LinkPath {
  return learnedVia === 'internet' || learnedVia === 'relay' ? 'tracker' : learnedVia;
}

/**
 * The servers a link made along `path` may contact. Only a link made through a tracker has to
 * cross NATs; a device on the LAN or at an address dialled directly is reached on its own
 * addresses, so STUN and TURN add nothing there and would tell a public server that this device
 * is making a link (and when) for no gain.
 */
export function serversForPath(path: LinkPath, servers: InternetServers): { iceServers: IceServer[]; stunServers: string[] } {
  return path === 'tracker' ? { iceServers: servers.iceServers, stunServers: servers.stunServers } : { iceServers: [], stunServers: [] };
}
