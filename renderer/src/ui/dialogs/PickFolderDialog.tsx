// Picks a folder on the engine's machine (web UI): used by Join to choose where a share goes.
import { useState } from 'react';
import { limits } from '../../../../shared/validate.ts';
import { Dialog } from '../components/Dialog.tsx';
import { FolderBrowser } from '../components/FolderBrowser.tsx';

export function PickFolderDialog({
  initial,
  onPick,
  onClose,
  title = 'Choose a folder',
}: {
  initial: string;
  onPick: (path: string) => void;
  onClose: () => void;
  title?: string;
}) {
  const [path, setPath] = useState(initial);
  const [request, setRequest] = useState<{ path: string; n: number } | null>(null);
  return (
    <Dialog
      title={title}
      onClose={onClose}
      testid="pick-dialog"
      wide
      onSubmit={() => path.trim() && onPick(path.trim())}
      footer={
        <>
          <button type="button" className="btn btn-secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={!path.trim()} data-testid="pick-choose">
            Use this folder
          </button>
        </>
      }
    >
      <div className="field">
        <label htmlFor="pick-path" className="field-label">
          Folder
        </label>
        <div className="input-row">
          <input
            id="pick-path"
            className="input mono"
            value={path}
            onChange={(e) => setPath(e.target.value)}
            spellCheck={false}
            autoComplete="off"
            maxLength={limits.path}
            data-testid="pick-path-input"
          />
          <button
            type="button"
            className="btn btn-secondary"
            disabled={!path.trim()}
            onClick={() => setRequest({ path: path.trim(), n: (request?.n ?? 0) + 1 })}
          >
            Browse here
          </button>
        </div>
        <p className="field-hint">The shared files will be placed in this folder.</p>
      </div>
      <FolderBrowser start={initial || undefined} onPick={setPath} selected={path} request={request} />
    </Dialog>
  );
}
