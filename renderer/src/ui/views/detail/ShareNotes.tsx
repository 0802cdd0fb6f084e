// What the detail view says about a share whose access changes what it can show: a join by invite
// the issuing device has not granted, an encrypted copy this device cannot read, and a read-only
// share's local changes.
import type { ShareSummary } from '../../../../../shared/api.ts';
import { accessLabel } from '../../../store/derive.ts';
import { formatBytes, formatDateTime, plural } from '../../../store/format.ts';
import { useApp } from '../../app-context.tsx';
import { Icon } from '../../components/Icon.tsx';

/** The first group of a device ID: enough to tell devices apart. */
const shortDevice = (id: string) => id.split('-')[0] || id;

/** A join by one-time invite: waiting for the device that made it, or refused by it. */
export function PendingJoinNote({ share: s }: { share: ShareSummary }) {
  const { actions } = useApp();
  if (!s.invite) return null;
  const giveUp = async () => {
    if (await actions.unshare(s.id)) actions.navigate({ view: 'shares' });
  };
  if (s.error)
    return (
      <div className="callout callout-danger share-note" role="alert" data-testid="pending-join-failed">
        <Icon name="alert" size={16} />
        <div>
          <p>
            <strong>Could not join with this invite: {s.error}.</strong> Nothing of the folder was received, and {s.path} was left as it
            was.
          </p>
          <div className="callout-actions">
            <button type="button" className="btn btn-secondary" onClick={() => void giveUp()} data-testid="pending-join-remove">
              Remove
            </button>
          </div>
        </div>
      </div>
    );
  return (
    <div className="callout callout-info share-note" role="status" data-testid="pending-join-waiting">
      <Icon name="clock" size={16} />
      <div>
        <p>
          <strong>Waiting for the device that made the invite</strong> (<span className="mono">{shortDevice(s.invite.issuer)}</span>) to let
          this device in with {accessLabel[s.access].toLowerCase()} access. It has to be running and reachable: on this network, or at an
          address given with <span className="mono">peerfold join … --peer HOST:PORT</span>. This device keeps trying until the invite
          expires, {formatDateTime(s.invite.expiresAt)}; nothing is received before then.
        </p>
        <div className="callout-actions">
          <button type="button" className="btn btn-secondary" onClick={() => void giveUp()} data-testid="pending-join-cancel">
            Give up
          </button>
        </div>
      </div>
    </div>
  );
}

/** An encrypted share: this device stores the folder for others and cannot read it. */
export function EncryptedCopyNote({ share: s }: { share: ShareSummary }) {
  if (s.access !== 'encrypted') return null;
  return (
    <div className="callout callout-info share-note" data-testid="encrypted-note">
      <Icon name="shield" size={16} />
      <div>
        <p>
          <strong>This device keeps an encrypted copy it cannot read.</strong> It stores {formatBytes(s.localBytes)} of encrypted data for
          the other devices and passes changes between them ({plural(s.peersConnected, 'peer')} connected now), but file names and contents
          stay unreadable here, so there is no file list.
        </p>
      </div>
    </div>
  );
}

/** A read-only share with changes made here that no other device takes. */
export function LocalChangesNote({ share: s }: { share: ShareSummary }) {
  const { actions } = useApp();
  if (s.access !== 'read-only' || s.localChanges === 0) return null;
  return (
    <div className="callout callout-warn share-note" data-testid="local-changes-note">
      <Icon name="info" size={16} />
      <div>
        <p>
          <strong>{plural(s.localChanges, 'change')} made on this device</strong> {s.localChanges === 1 ? 'stays' : 'stay'} here: this
          device holds the folder read-only, so other devices do not take {s.localChanges === 1 ? 'it' : 'them'}.
        </p>
        <div className="callout-actions">
          <button
            type="button"
            className="btn btn-secondary"
            onClick={() => actions.navigate({ view: 'share', shareId: s.id, tab: 'changes' })}
            data-testid="local-changes-review"
          >
            Review and revert
          </button>
        </div>
      </div>
    </div>
  );
}
