// What to tell the user when a SHARE argument names no share. The usual mix-ups are things that
// come with sharing but are not a share: a code (share or one-time invite), the ID of an invite
// this device made, or the provisional id of a join by invite; each gets a sentence that says what
// to do instead. Pure: the engine looks up the invite and the join, this module words the answer.

import { looksLikeInvite } from '../keys/invite-code.ts';
import { CODE_PREFIX } from '../keys/codes.ts';
import { pendingJoinId } from './pending-joins.ts';

/** An open invite of this device's whose ID the reference names (with or without "invite-"). */
export interface InviteNamed {
  id: string;
  shareId: string;
  shareName: string;
}

const SHARE_CODE = new RegExp(`^(${[CODE_PREFIX['read-write'], CODE_PREFIX['read-only'], CODE_PREFIX.encrypted].join('|')})1`);

/** The invite ID a reference may name: "invite-<id>" (a join's provisional id) or the bare ID. */
export function inviteIdIn(ref: string): string {
  const s = ref.trim().toLowerCase();
  return s.startsWith(pendingJoinId('')) ? s.slice(pendingJoinId('').length) : s;
}

/** The error for a share reference that matches no share and no pending join. */
export function noShareMessage(ref: string, invite: InviteNamed | null): string {
  const compact = ref.replace(/[\s-]/g, '').toLowerCase();
  if (looksLikeInvite(ref))
    return (
      'that is a one-time invite code, not a share: the device that should join uses it (`peerfold join CODE PATH`). ' +
      'To cancel it, `peerfold invites SHARE` lists the invites of a share and `peerfold revoke SHARE INVITE_ID` cancels one'
    );
  if (SHARE_CODE.test(compact))
    return 'that is a share code, not a share: `peerfold join CODE PATH` joins with it; `peerfold shares` lists the shares here by id and folder';
  if (invite)
    return `"${ref}" is an open invite of "${invite.shareName}", not a share: \`peerfold revoke ${invite.shareId} ${invite.id}\` cancels it`;
  if (ref.startsWith(pendingJoinId('')))
    return `no join by invite "${ref}" is waiting here: a granted join becomes a share with an id of its own (\`peerfold shares\` lists them by id and folder)`;
  return `no share "${ref}"; \`peerfold shares\` lists them by id and folder`;
}

/** The error for a command other than `unshare` given a join that waits for its invite's issuer. */
export function pendingJoinMessage(join: { id: string; name: string; error: string | null }): string {
  if (join.error) return `"${join.name}" could not join: ${join.error}. \`peerfold unshare ${join.id}\` removes it`;
  return (
    `"${join.name}" is waiting for the device that made its invite: nothing of the share is here yet. ` +
    `\`peerfold shares\` shows when it is granted; \`peerfold unshare ${join.id}\` gives up the join`
  );
}
