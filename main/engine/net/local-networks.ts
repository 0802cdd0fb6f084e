// This machine's networks, read from the OS (the thin shell around os.networkInterfaces() that
// path.ts's decisions and the network watch use).
import { networkInterfaces } from 'node:os';
import { isLoopback, type LocalNetwork } from './path.ts';

/** Every address of every interface, loopback included. */
export function localNetworks(): LocalNetwork[] {
  const out: LocalNetwork[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const ni of list ?? []) {
      if (ni.family === 'IPv4' || ni.family === 'IPv6') out.push({ address: ni.address, netmask: ni.netmask, family: ni.family });
    }
  }
  return out;
}

/**
 * The addresses a link can use, as one comparable string: what changes when a laptop moves to
 * another network or an interface goes away. Loopback and IPv6 link-local addresses are left out
 * (they come and go with nothing else changing, and no link to another device uses them).
 */
export function networkSignature(networks: readonly LocalNetwork[]): string {
  return networks
    .filter((n) => !isLoopback(n.address) && !/^fe80:/i.test(n.address))
    .map((n) => `${n.address}/${n.netmask}`)
    .sort()
    .join(' ');
}
