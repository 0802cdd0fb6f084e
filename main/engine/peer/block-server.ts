// Serves one peer's block requests (PROTOCOL.md, "Block transfer", responder side): at most
// MAX_SERVING at once (beyond it: `overloaded`), each read from disk and checked against the
// chunk's hash before it is sent. Closed with its link: requests still being read are dropped.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { IndexStore } from '../index/store.ts';
import { MAX_BLOCK_DATA, type BlockRequest, type BlockResponse, type ResponseStatus } from '../protocol/messages.ts';

/** Requests this device serves to one peer at once; beyond it the peer is told to retry. */
export const MAX_SERVING = 64;

export type ServerState = 'open' | 'closed';

export type BlockStore = Pick<IndexStore, 'fileVersion' | 'getFile' | 'findChunk'>;

export interface BlockServerDeps {
  /** this device */
  self: string;
  store: BlockStore;
  /** the share a request names, when this peer may read it here now (proved, not paused) */
  servedShare(discoveryId: string): { shareId: string; root: string } | null;
  /** waits until n more bytes may be sent under the upload limit */
  throttleSend(n: number): Promise<void>;
  send(msg: BlockResponse): Promise<void>;
  log(message: string): void;
}

interface Location {
  path: string;
  offset: number;
  size: number;
  /** file offset of the first byte of the located chunk that the request's offset is counted from */
  requestBase: number;
}

export class BlockServer {
  private state: ServerState = 'open';
  private serving = 0;

  constructor(private readonly deps: BlockServerDeps) {}

  get busy(): number {
    return this.serving;
  }

  close(): void {
    this.state = 'closed';
  }

  /** Serves `req`; the response goes to `send` (default: the deps' send). */
  handle(req: BlockRequest, send: (msg: BlockResponse) => Promise<void> = this.deps.send): void {
    if (this.state === 'closed') return;
    if (this.serving >= MAX_SERVING) {
      void this.reply(send, req, 'overloaded');
      return;
    }
    this.serving++;
    this.serve(req, send)
      .catch((err) => this.deps.log(`serving ${req.path} failed: ${(err as Error).message}`))
      .finally(() => this.serving--);
  }

  private reply(
    send: (msg: BlockResponse) => Promise<void>,
    req: BlockRequest,
    status: ResponseStatus,
    data: Uint8Array = new Uint8Array(0),
  ): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    return send({ type: 'response', id: req.id, status, data });
  }

  private async serve(req: BlockRequest, send: (msg: BlockResponse) => Promise<void>): Promise<void> {
    const share = this.deps.servedShare(req.share);
    if (!share) return this.reply(send, req, 'not-shared');
    try {
      // Usually the request is one whole chunk at the offset the requester took from our index:
      // the bytes there, checked against the hash, are the answer without looking up the file's
      // chunk list (decoding that per request made big files quadratic: a 1 GiB file has ~16k).
      const quick = this.quickLocate(share.shareId, req);
      let found = quick && (await readChunk(share.root, quick, req.hash).catch(() => null));
      if (!found) {
        const located = this.locate(share.shareId, req);
        if (!located) return this.reply(send, req, 'not-found');
        found = await readChunk(share.root, located, req.hash);
        if (!found) return this.reply(send, req, 'changed');
      }
      const part = found.chunk.subarray(req.offset - found.requestBase, req.offset - found.requestBase + req.size);
      await this.deps.throttleSend(part.length);
      if (process.env.PEERFOLD_FAULT_CORRUPT_SERVE === '1' && part.length > 0) {
        // fault injection for tests: this device serves corrupt data, as a broken or hostile peer would
        const bad = Buffer.from(part);
        bad[0] ^= 0xff;
        return this.reply(send, req, 'ok', bad);
      }
      return this.reply(send, req, 'ok', part);
    } catch {
      return this.reply(send, req, 'io-error');
    }
  }

  /** The requested range itself, when it is a whole chunk of a live file here (serve() verifies it). */
  private quickLocate(shareId: string, req: BlockRequest): Location | null {
    // a request of MAX_BLOCK_DATA bytes is usually a part of a bigger chunk: its hash is the chunk's
    if (req.size === 0 || req.size >= MAX_BLOCK_DATA) return null;
    const live = this.deps.store.fileVersion(shareId, this.deps.self, req.path);
    return live && !live.deleted ? { path: req.path, offset: req.offset, size: req.size, requestBase: req.offset } : null;
  }

  /**
   * Where the requested range is on this device: in the named file's chunk whose range covers it,
   * or in any local file holding a chunk with that hash.
   */
  private locate(shareId: string, req: BlockRequest): Location | null {
    const rec = this.deps.store.getFile(shareId, this.deps.self, req.path);
    if (rec && !rec.deleted) {
      let at = 0;
      for (const c of rec.chunks) {
        if (req.offset >= at && req.offset + req.size <= at + c.size && Buffer.from(c.hash).equals(req.hash)) {
          return { path: rec.path, offset: at, size: c.size, requestBase: at };
        }
        at += c.size;
      }
    }
    // The file changed here, or the chunk sits in another file: a whole-chunk request can still
    // be served from wherever the chunk is (a part of a larger chunk cannot be placed).
    for (const loc of this.deps.store.findChunk(req.hash)) {
      if (loc.shareId === shareId && loc.size === req.size)
        return { path: loc.path, offset: loc.offset, size: loc.size, requestBase: req.offset };
    }
    return null;
  }
}

/** The chunk at `at` when its bytes still hash to `hash`; null when they do not; throws on I/O errors. */
async function readChunk(root: string, at: Location, hash: Uint8Array): Promise<{ chunk: Buffer; requestBase: number } | null> {
  const chunk = Buffer.allocUnsafe(at.size);
  const handle = await fsp.open(join(root, at.path), 'r');
  let read = 0;
  try {
    ({ bytesRead: read } = await handle.read(chunk, 0, at.size, at.offset));
  } finally {
    await handle.close();
  }
  return read === at.size && createHash('sha256').update(chunk).digest().equals(hash) ? { chunk, requestBase: at.requestBase } : null;
}
