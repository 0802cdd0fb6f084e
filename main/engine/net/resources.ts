// Everything in net that holds a socket, a timer or a native object registers here, so that
// shutdownNet() can close it all before node-datachannel's cleanup() (without which the process
// never exits), and so that no native object loses its last reference while it is still in use.

export interface NetResource {
  /** Closes the resource; must be idempotent and must not throw. */
  shutdown(reason: string): void | Promise<void>;
}

const live = new Set<NetResource>();

export function trackResource(r: NetResource): void {
  live.add(r);
}

export function untrackResource(r: NetResource): void {
  live.delete(r);
}

export function liveResources(): NetResource[] {
  return [...live];
}
