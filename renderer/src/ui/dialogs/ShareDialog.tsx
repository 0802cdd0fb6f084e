// "Share a folder" for shells without a native picker: a path field, plus a browser of the
// engine machine's folders that fills it in.
import { useState } from 'react';
import { limits } from '../../../../shared/validate.ts';
import { baseName } from '../../store/derive.ts';
import { errorMessage } from '../../store/reducers.ts';
import { ErrorText } from '../components/bits.tsx';
import { Dialog } from '../components/Dialog.tsx';
import { FolderBrowser } from '../components/FolderBrowser.tsx';
import { useShareFolder } from '../flows.ts';

export function ShareDialog({ onClose }: { onClose: () => void }) {
  const { shareAndOpen } = useShareFolder();
  const [path, setPath] = useState('');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [request, setRequest] = useState<{ path: string; n: number } | null>(null);

  const submit = async () => {
    if (!path.trim() || busy) return;
    setBusy(true);
    setError(null);
    try {
      await shareAndOpen(path.trim(), name.trim() || undefined);
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <Dialog
      title="Share a folder"
      onClose={onClose}
      testid="share-dialog"
      wide
      onSubmit={submit}
      footer={
        <>
          <button type="button" className="btn btn-secondary" onClick={onClose} data-testid="share-cancel">
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={!path.trim() || busy} data-testid="share-submit">
            {busy ? 'Sharing…' : 'Share this folder'}
          </button>
        </>
      }
    >
      <p className="muted">
        Choose a folder on the computer running Peerfold. Its files stay where they are; Peerfold gives you codes to hand to other devices.
      </p>
      <div className="field">
        <label htmlFor="share-path" className="field-label">
          Folder
        </label>
        <div className="input-row">
          <input
            id="share-path"
            className="input mono"
            value={path}
            onChange={(e) => setPath(e.target.value)}
            placeholder="/home/you/Documents"
            autoFocus
            spellCheck={false}
            autoComplete="off"
            maxLength={limits.path}
            data-testid="share-path-input"
            aria-describedby="share-path-hint"
          />
          <button
            type="button"
            className="btn btn-secondary"
            disabled={!path.trim()}
            onClick={() => setRequest({ path: path.trim(), n: (request?.n ?? 0) + 1 })}
            data-testid="folder-go"
          >
            Browse here
          </button>
        </div>
        <p id="share-path-hint" className="field-hint">
          Type a path, or pick a folder below.
        </p>
      </div>
      <FolderBrowser onPick={setPath} selected={path} request={request} />
      <div className="field">
        <label htmlFor="share-name" className="field-label">
          Name <span className="field-optional">optional</span>
        </label>
        <input
          id="share-name"
          className="input"
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder={path ? baseName(path) : 'The folder’s name'}
          maxLength={limits.name}
          data-testid="share-name-input"
        />
      </div>
      {error && <ErrorText testid="share-error">{error}</ErrorText>}
    </Dialog>
  );
}
