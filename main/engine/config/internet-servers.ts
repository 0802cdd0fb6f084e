// Which internet servers the settings let this device use, and in what form node-datachannel takes
// them (pure). LAN only turns them all off. PEERFOLD_NO_PUBLIC=1 (set by the tests, the e2e
// harness and CI) refuses every server named by a host name, the shipped public defaults
// included: only servers written as IP addresses (the tests' own, on loopback or in namespaces)
// are used, and nothing is looked up in DNS, so a test can never reach a public server by mistake.
import type { IceServer } from 'node-datachannel';
import type { Settings } from '../../../shared/api.ts';
import { isIpLiteral, parseStunUrl, parseTurnUrl, serverHost } from '../../../shared/net-servers.ts';

export interface InternetServers {
  trackers: string[];
  /** STUN and TURN servers, TURN credentials in the object form (a ':' in a user name breaks the URL form) */
  iceServers: IceServer[];
  /** servers named in the settings and not used, and why */
  refused: { url: string; reason: string }[];
}

export const NO_PUBLIC_REASON = 'PEERFOLD_NO_PUBLIC=1: only servers given as IP addresses are used';

export function noPublicFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.PEERFOLD_NO_PUBLIC === '1';
}

export function internetServers(settings: Settings, noPublic: boolean): InternetServers {
  const out: InternetServers = { trackers: [], iceServers: [], refused: [] };
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
    if (s.ok && allowed(url)) out.iceServers.push({ hostname: s.value.host, port: s.value.port });
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
