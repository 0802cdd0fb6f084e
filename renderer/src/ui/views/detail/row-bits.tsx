// Pieces the detail tabs' tables share: the wait for a tab's resource, a path cell, and a row's
// one action (restore, revert), which disables every row's action while one runs.
import { useState } from 'react';
import type { Loadable } from '../../../store/state.ts';
import { ErrorText, Spinner } from '../../components/bits.tsx';
import { Icon } from '../../components/Icon.tsx';

/** What a tab shows until its resource is there: a spinner, or why it could not be loaded. */
export function ResourcePending({ res, label }: { res: Loadable<unknown> | undefined; label: string }) {
  return res?.status === 'error' ? <ErrorText>{res.error}</ErrorText> : <Spinner label={label} />;
}

export function PathCell({ path }: { path: string }) {
  return (
    <td>
      <span className="mono truncate" title={path}>
        {path}
      </span>
    </td>
  );
}

/** Which row's action runs now (null: none), and a way to run one under a key. */
export function useRowAction(): [string | null, (key: string, action: () => Promise<unknown>) => Promise<void>] {
  const [busy, setBusy] = useState<string | null>(null);
  const run = async (key: string, action: () => Promise<unknown>) => {
    setBusy(key);
    await action();
    setBusy(null);
  };
  return [busy, run];
}

export function RowActionButton(p: {
  label: string;
  runningLabel: string;
  /** this row's action runs */
  running: boolean;
  /** some action runs */
  disabled: boolean;
  onClick: () => void;
  testid: string;
  ariaLabel: string;
}) {
  return (
    <td className="num">
      <button
        type="button"
        className="btn btn-secondary btn-sm"
        disabled={p.disabled}
        onClick={p.onClick}
        data-testid={p.testid}
        aria-label={p.ariaLabel}
      >
        <Icon name="history" size={14} />
        {p.running ? p.runningLabel : p.label}
      </button>
    </td>
  );
}
