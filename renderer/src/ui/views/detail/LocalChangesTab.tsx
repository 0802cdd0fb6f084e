// A read-only share's local changes: edits, new files and deletions made on this device, which no
// other device takes. Each can be reverted to the shared version, or all at once; what a revert
// removes or replaces goes to the share's archive.
import { useState } from 'react';
import type { ReadOnlyChange, ShareSummary } from '../../../../../shared/api.ts';
import { plural } from '../../../store/format.ts';
import { useActions } from '../../app-context.tsx';
import { EmptyState } from '../../components/bits.tsx';
import { Icon } from '../../components/Icon.tsx';
import { ConfirmDialog } from '../../dialogs/ConfirmDialog.tsx';
import { PathCell, ResourcePending, RowActionButton, useRowAction } from './row-bits.tsx';
import { useShareResource } from './use-resource.ts';

const changeLabel: Record<ReadOnlyChange['change'], string> = {
  added: 'Added here',
  modified: 'Edited here',
  deleted: 'Deleted here',
};

/** What reverting one change does, for a person. */
const revertHint: Record<ReadOnlyChange['change'], string> = {
  added: 'moves the file to the archive',
  modified: 'brings back the shared version; the edit goes to the archive',
  deleted: 'brings the shared version back',
};

export function LocalChangesTab({ share }: { share: ShareSummary }) {
  const res = useShareResource(share, 'changes', { followChanges: true });
  const { revert } = useActions();
  const [busy, run] = useRowAction();
  const [confirmAll, setConfirmAll] = useState(false);

  if (!res?.data) return <ResourcePending res={res} label="Loading the local changes" />;
  const list = [...res.data].sort((a, b) => a.path.localeCompare(b.path));
  if (list.length === 0)
    return (
      <EmptyState icon="check" title="No local changes" testid="changes-empty">
        <p>This device holds the folder read-only: it receives every change, and what you change here is not sent to other devices.</p>
      </EmptyState>
    );
  return (
    <div className="stack">
      <div className="changes-head">
        <p className="muted small">
          This device holds the folder read-only, so {list.length === 1 ? 'this change stays' : `these ${list.length} changes stay`} here:
          no other device takes {list.length === 1 ? 'it' : 'them'}. Reverting restores the shared version; what it replaces goes to the
          archive.
        </p>
        <button
          type="button"
          className="btn btn-secondary"
          disabled={busy !== null}
          onClick={() => setConfirmAll(true)}
          data-testid="changes-revert-all"
        >
          <Icon name="history" size={14} />
          {busy === '*' ? 'Reverting…' : 'Revert all'}
        </button>
      </div>
      <div className="table-wrap">
        <table className="table" data-testid="changes-table">
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col">Change</th>
              <th scope="col">Revert</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((c) => (
              <tr key={c.path} data-testid="change-row" data-path={c.path} data-change={c.change}>
                <PathCell path={c.path} />
                <td>
                  <span className={`action action-${c.change}`}>{changeLabel[c.change]}</span>
                </td>
                <td className="muted small">{revertHint[c.change]}</td>
                <RowActionButton
                  label="Revert"
                  runningLabel="Reverting…"
                  running={busy === c.path}
                  disabled={busy !== null}
                  onClick={() => void run(c.path, () => revert(share.id, c.path))}
                  testid="change-revert"
                  ariaLabel={`Revert ${c.path}`}
                />
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {confirmAll && (
        <ConfirmDialog
          title={`Revert ${plural(list.length, 'local change')}?`}
          confirm="Revert all"
          onClose={() => setConfirmAll(false)}
          onConfirm={() => {
            setConfirmAll(false);
            void run('*', () => revert(share.id));
          }}
        >
          <p>
            Every file changed here goes back to the shared version. Nothing is deleted outright: what is replaced or removed is kept in the
            archive.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}
