// A test-only hook that makes this device send entries no writer signed, so end-to-end tests can
// prove every other device refuses them (issue 9). Read only when PEERFOLD_TEST=1; inert otherwise.
//
//   PEERFOLD_TEST_FORGE_ENTRIES=unsigned    every entry goes out with no signature
//   PEERFOLD_TEST_FORGE_ENTRIES=wrong-key   signed with a key that is not the share's writer key
//   PEERFOLD_TEST_FORGE_ENTRIES=tampered    the signature it holds is kept, the version is raised
// On an encrypted device, which relays encrypted entries, the same hooks alter what it relays (the
// clear version of an encrypted entry, for `tampered`).

import { createShareSecret } from '../keys/secrets.ts';
import { EntrySigner } from '../keys/entry-signing.ts';
import type { FileEntryWire } from '../protocol/messages.ts';

export type Forgery = 'unsigned' | 'wrong-key' | 'tampered';
export type ForgeEntry = (e: FileEntryWire, discoveryId: Uint8Array) => FileEntryWire;

export function forgeryFromEnv(env: NodeJS.ProcessEnv = process.env): ForgeEntry | undefined {
  if (env.PEERFOLD_TEST !== '1') return undefined;
  const kind = env.PEERFOLD_TEST_FORGE_ENTRIES as Forgery | undefined;
  if (kind === 'unsigned') return (e) => ({ ...e, signature: new Uint8Array(0) });
  if (kind === 'wrong-key') {
    const stranger = createShareSecret();
    return (e, discoveryId) => ({ ...e, signature: new EntrySigner(discoveryId, stranger.writerKeyHash, stranger.secret).sign(e) });
  }
  if (kind === 'tampered') {
    return (e) => ({ ...e, version: { ...e.version, [e.modifiedBy]: (e.version[e.modifiedBy] ?? 0) + 1000 } });
  }
  return undefined;
}
