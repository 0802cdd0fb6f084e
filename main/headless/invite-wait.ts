// `peerfold join` with a one-time invite: the daemon lists the share at once, waiting for the
// device that made the invite (ShareSummary.invite); the command stays a little to tell the user
// how that ends. A refusal is reported as the command's failure and the failed join removed (the
// user has read why; nothing was delivered). Past the wait, the share keeps trying in the daemon.
import type { ShareSummary } from '../../shared/api.ts';
import type { ControlClient } from './client.ts';

/** How long `join` with an invite waits for the issuer's answer before leaving it to the daemon. */
export const JOIN_WAIT_MS = Number(process.env.PEERFOLD_INVITE_WAIT_MS ?? 30_000);

export type InviteJoinEnd =
  { kind: 'joined'; share: ShareSummary } | { kind: 'refused'; error: string } | { kind: 'waiting'; share: ShareSummary };

/** What a join by invite came to, from the share at its folder now; null while it waits. */
export function inviteJoinEnd(now: ShareSummary | undefined): InviteJoinEnd | null {
  if (!now) return { kind: 'refused', error: 'the join was given up (the share was removed)' };
  if (now.invite === null) return { kind: 'joined', share: now };
  if (now.state === 'error') return { kind: 'refused', error: now.error ?? 'the invite was refused' };
  return null;
}

export async function awaitInviteJoin(client: ControlClient, pending: ShareSummary, waitMs = JOIN_WAIT_MS): Promise<InviteJoinEnd> {
  const until = Date.now() + waitMs;
  let last = pending;
  for (;;) {
    // once granted the share has its real id: it is found by its folder
    const now = (await client.call('status', {})).shares.find((s) => s.path === pending.path);
    const end = inviteJoinEnd(now);
    if (end) {
      if (end.kind === 'refused' && now) await client.call('unshare', { share: now.id }).catch(() => undefined);
      return end;
    }
    last = now ?? last;
    if (Date.now() >= until) return { kind: 'waiting', share: last };
    await new Promise((r) => setTimeout(r, 300));
  }
}
