// The one thing pulling needs from the network: verified chunks of a file's global version.
import type { VersionVector } from '../../../shared/api.ts';
import type { ChunkSpec } from './file-puller.ts';

/** Fetches a verified chunk of a file's global version from connected peers (the network implements it). */
export interface ChunkSwarm {
  /**
   * `holders`: the devices whose entry the puller saw at exactly `version` (asked first, without a
   * lookup per chunk and peer); without it the swarm looks them up in the index.
   */
  fetch(
    shareId: string,
    path: string,
    version: VersionVector,
    spec: ChunkSpec,
    signal: AbortSignal,
    holders?: readonly string[],
  ): Promise<Uint8Array>;
  /**
   * A chunk `fetch` gave is written and nobody holds it any more: the memory of the answer it
   * came in may take the next one (net/frame-pool.ts).
   */
  recycle?(data: Uint8Array): void;
  /** devices connected for this share that hold exactly this version of the path */
  holders(shareId: string, path: string, version: VersionVector): number;
  /**
   * The windows of the links carrying the share, added up (0: no link): what they keep in flight,
   * so what the puller asks for at once (file-flight.ts).
   */
  windowBytes(shareId: string): number;
}
