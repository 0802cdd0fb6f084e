import type { ReactNode } from 'react';
import { Dialog } from '../components/Dialog.tsx';

export function ConfirmDialog({
  title,
  children,
  confirm,
  danger = false,
  onConfirm,
  onClose,
}: {
  title: string;
  children: ReactNode;
  confirm: string;
  danger?: boolean;
  onConfirm: () => void;
  onClose: () => void;
}) {
  return (
    <Dialog
      title={title}
      onClose={onClose}
      testid="confirm-dialog"
      footer={
        <>
          <button type="button" className="btn btn-secondary" onClick={onClose} autoFocus data-testid="confirm-cancel">
            Cancel
          </button>
          <button type="button" className={`btn ${danger ? 'btn-danger' : 'btn-primary'}`} onClick={onConfirm} data-testid="confirm-ok">
            {confirm}
          </button>
        </>
      }
    >
      {children}
    </Dialog>
  );
}
