// The codes tab's one-time invites: "Invite a device" opens the dialog that makes one; the open
// invites of this share are listed with Revoke. The list is this panel's own (loaded when the tab
// opens, and again after each change made here).
import { useCallback, useEffect, useState } from 'react';
import type { InviteInfo, ShareSummary } from '../../../../../shared/api.ts';
import { accessLabel } from '../../../store/derive.ts';
import { formatDateTime } from '../../../store/format.ts';
import { errorMessage } from '../../../store/reducers.ts';
import { useApp } from '../../app-context.tsx';
import { CopyButton, ErrorText } from '../../components/bits.tsx';
import { InviteDialog } from '../../dialogs/InviteDialog.tsx';

export function InvitesPanel({ share }: { share: ShareSummary }) {
  const { actions } = useApp();
  const [open, setOpen] = useState<InviteInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [inviting, setInviting] = useState(false);

  const reload = useCallback(() => {
    actions.listInvites(share.id).then(
      (list) => {
        setOpen(list);
        setError(null);
      },
      (err) => setError(errorMessage(err)),
    );
  }, [actions, share.id]);

  // An invite is used by a device that then links to this one: the list is asked again whenever
  // the share's connected peers change (no event carries invites themselves).
  useEffect(reload, [reload, share.peersConnected]);

  const revoke = async (id: string) => {
    try {
      await actions.revokeInvite(share.id, id);
    } catch (err) {
      setError(errorMessage(err));
    }
    reload();
  };

  return (
    <section className="invites-panel" aria-labelledby="invites-title" data-testid="invites-panel">
      <div className="invites-head">
        <div>
          <h3 id="invites-title" className="section-title">
            One-time invites
          </h3>
          <p className="muted code-hint">A code that works once (or a few times) and expires, instead of a permanent code.</p>
        </div>
        <button type="button" className="btn btn-secondary" onClick={() => setInviting(true)} data-testid="invite-open">
          Invite a device…
        </button>
      </div>
      {error && <ErrorText testid="invites-error">{error}</ErrorText>}
      {open && open.length === 0 && <p className="muted code-none">No open invites.</p>}
      {open && open.length > 0 && (
        <ul className="invite-list" data-testid="invite-list">
          {open.map((inv) => (
            <li key={inv.id} className="invite-row" data-testid={`invite-row-${inv.id}`}>
              <span className={`access access-${inv.access}`}>{accessLabel[inv.access]}</span>
              <span className="muted code-hint">
                {inv.usesLeft === 1 ? '1 use left' : `${inv.usesLeft} uses left`} · until {formatDateTime(inv.expiresAt)}
              </span>
              <code className="invite-id">{inv.id}</code>
              <span className="invite-actions">
                <CopyButton text={inv.code} label="Copy the invite code" compact />
                <button
                  type="button"
                  className="btn btn-sm btn-danger"
                  onClick={() => void revoke(inv.id)}
                  data-testid={`invite-revoke-${inv.id}`}
                >
                  Revoke
                </button>
              </span>
            </li>
          ))}
        </ul>
      )}
      {inviting && <InviteDialog share={share} onClose={() => setInviting(false)} onCreated={reload} />}
    </section>
  );
}
