import { promises as fsp } from 'node:fs';
import { extname, join } from 'node:path';
import type { FilePreview } from '../../../shared/api.ts';
import { ApiError } from '../../../shared/errors.ts';
import { unsafeRemotePath } from '../pull/path-safety.ts';

const imageTypes: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.bmp': 'image/bmp',
};

/** The first bytes of a file in the share, as text, an image, or neither, for the conflict viewer. */
export async function previewFile(root: string, path: string, maxBytes: number): Promise<FilePreview> {
  const bad = unsafeRemotePath(path, 'linux');
  if (bad) throw new ApiError('bad-request', `cannot preview ${path}: ${bad}`);
  const limit = Math.max(1, Math.min(maxBytes, 4 * 1024 * 1024));
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(join(root, path), 'r');
  } catch {
    return { path, size: 0, kind: 'missing', text: null, base64: null, mime: null, truncated: false };
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return { path, size: 0, kind: 'missing', text: null, base64: null, mime: null, truncated: false };
    const mime = imageTypes[extname(path).toLowerCase()];
    if (mime) {
      if (st.size > 4 * 1024 * 1024) return { path, size: st.size, kind: 'binary', text: null, base64: null, mime, truncated: true };
      const data = await handle.readFile();
      return { path, size: st.size, kind: 'image', text: null, base64: data.toString('base64'), mime, truncated: false };
    }
    const buf = Buffer.alloc(Math.min(limit, st.size));
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    const head = buf.subarray(0, bytesRead);
    const text = asText(head);
    if (text === null) return { path, size: st.size, kind: 'binary', text: null, base64: null, mime: null, truncated: st.size > bytesRead };
    return { path, size: st.size, kind: 'text', text, base64: null, mime: 'text/plain', truncated: st.size > bytesRead };
  } finally {
    await handle.close();
  }
}

/** UTF-8 text without NUL bytes (a cut multi-byte character at the end is tolerated). */
function asText(buf: Buffer): string | null {
  if (buf.includes(0)) return null;
  for (let cut = 0; cut < 4 && cut <= buf.length; cut++) {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, buf.length - cut));
    } catch {
      // try without a possibly truncated trailing character
    }
  }
  return null;
}
