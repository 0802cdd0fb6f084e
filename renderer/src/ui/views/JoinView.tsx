// Join with a code: the code is checked as it is typed (level shown, typos caught), then the
// user picks where the folder goes.
import { useEffect, useRef, useState } from 'react';
import type { CodeCheck } from '../../../../shared/api.ts';
import { limits } from '../../../../shared/validate.ts';
import { accessHint, accessLabel } from '../../store/derive.ts';
import { formatDateTime } from '../../store/format.ts';
import { errorMessage } from '../../store/reducers.ts';
import { useApp, useAppState } from '../app-context.tsx';
import { ErrorText, Spinner } from '../components/bits.tsx';
import { Icon } from '../components/Icon.tsx';
import { PickFolderDialog } from '../dialogs/PickFolderDialog.tsx';
import { useNativePicker } from '../flows.ts';

type Check = { state: 'empty' } | { state: 'checking' } | { state: 'done'; result: CodeCheck } | { state: 'failed'; error: string };

export function JoinView() {
  const { actions } = useApp();
  const route = useAppState((s) => s.route);
  const initialCode = route.view === 'join' ? (route.code ?? '') : '';
  const [code, setCode] = useState(initialCode);
  const [check, setCheck] = useState<Check>({ state: 'empty' });
  const [path, setPath] = useState('');
  const [name, setName] = useState('');
  const [picking, setPicking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const seq = useRef(0);
  const nativePick = useNativePicker();

  // Validate as the user types, a beat after the last keystroke; stale answers are dropped.
  useEffect(() => {
    const trimmed = code.trim();
    const n = ++seq.current;
    if (!trimmed) {
      setCheck({ state: 'empty' });
      return;
    }
    setCheck({ state: 'checking' });
    const t = setTimeout(() => {
      actions.checkCode(trimmed).then(
        (result) => n === seq.current && setCheck({ state: 'done', result }),
        (err) => n === seq.current && setCheck({ state: 'failed', error: errorMessage(err) }),
      );
    }, 200);
    return () => clearTimeout(t);
  }, [code, actions]);

  const ok = check.state === 'done' && check.result.ok;
  const canJoin = ok && path.trim().length > 0 && !busy;

  const submit = async () => {
    if (!canJoin) return;
    setBusy(true);
    setError(null);
    try {
      const share = await actions.join(code.trim(), path.trim(), name.trim() || undefined);
      actions.navigate({ view: 'share', shareId: share.id, tab: 'transfers' });
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  const choose = async () => {
    if (nativePick) {
      const p = await nativePick().catch(() => null);
      if (p) setPath(p);
    } else setPicking(true);
  };

  return (
    <section className="view" aria-labelledby="join-title">
      <header className="view-header">
        <div>
          <h1 id="join-title" className="view-title">
            Join with a code
          </h1>
          <p className="view-subtitle">Paste the code someone shared with you; the folder starts syncing to this device.</p>
        </div>
      </header>

      <form
        className="card form-card"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
        aria-label="Join a share"
      >
        <div className="step">
          <span className="step-num" aria-hidden="true">
            1
          </span>
          <div className="step-body">
            <label htmlFor="join-code" className="field-label">
              Share code or invite
            </label>
            <input
              id="join-code"
              className={`input mono input-lg ${check.state === 'done' ? (check.result.ok ? 'is-valid' : 'is-invalid') : ''}`}
              value={code}
              onChange={(e) => setCode(e.target.value)}
              placeholder="Paste a code"
              autoFocus
              spellCheck={false}
              autoComplete="off"
              maxLength={limits.code}
              data-testid="join-code-input"
              aria-describedby="join-code-status"
              aria-invalid={check.state === 'done' && !check.result.ok}
            />
            <div
              id="join-code-status"
              className="code-status"
              data-testid="join-code-status"
              data-state={check.state === 'done' ? (check.result.ok ? 'ok' : 'error') : check.state}
              aria-live="polite"
            >
              <CodeStatus check={check} />
            </div>
          </div>
        </div>

        <div className="step">
          <span className="step-num" aria-hidden="true">
            2
          </span>
          <div className="step-body">
            <label htmlFor="join-path" className="field-label">
              Where should the folder go?
            </label>
            <div className="input-row">
              <input
                id="join-path"
                className="input mono"
                value={path}
                onChange={(e) => setPath(e.target.value)}
                placeholder="/home/you/Shared folder"
                spellCheck={false}
                autoComplete="off"
                maxLength={limits.path}
                data-testid="join-path-input"
              />
              <button type="button" className="btn btn-secondary" onClick={() => void choose()} data-testid="join-browse">
                <Icon name="folder" size={15} />
                Choose…
              </button>
            </div>
            <p className="field-hint">Pick an empty folder, or a folder that already holds a copy of these files.</p>
            <label htmlFor="join-name" className="field-label field-label-spaced">
              Name <span className="field-optional">optional</span>
            </label>
            <input
              id="join-name"
              className="input"
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder="The folder’s name"
              maxLength={limits.name}
              data-testid="join-name-input"
            />
          </div>
        </div>

        {error && <ErrorText testid="join-error">{error}</ErrorText>}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={!canJoin} data-testid="join-submit">
            {busy ? 'Joining…' : 'Join and start syncing'}
          </button>
        </div>
      </form>

      {picking && (
        <PickFolderDialog
          initial={path}
          title="Where should the folder go?"
          onClose={() => setPicking(false)}
          onPick={(p) => {
            setPath(p);
            setPicking(false);
          }}
        />
      )}
    </section>
  );
}

/** What a one-time invite grants, beside its level: it is redeemed with the device that made it. */
function InviteNote({ expiresAt }: { expiresAt: number }) {
  return (
    <span className="muted" data-testid="join-code-invite">
      One-time invite, valid until {formatDateTime(expiresAt)}. The device that made it lets this one in; while it cannot be reached, the
      share waits for it.
    </span>
  );
}

function CodeStatus({ check }: { check: Check }) {
  switch (check.state) {
    case 'empty':
      return <span className="muted">Codes are checked as you type, so a mistyped character is caught before you join.</span>;
    case 'checking':
      return (
        <span className="muted status-inline">
          <Spinner label="Checking the code" /> Checking…
        </span>
      );
    case 'failed':
      return (
        <span className="text-danger status-inline">
          <Icon name="alert" size={14} /> {check.error}
        </span>
      );
    case 'done':
      if (!check.result.ok || !check.result.level)
        return (
          <span
            className="text-danger status-inline"
            data-testid="join-code-error"
            data-malformed={check.result.level === null ? 'true' : 'false'}
          >
            <Icon name="alert" size={14} />
            {/* a code that did not even parse is malformed; one that parsed may still be refused (an expired invite) */}
            {check.result.level === null ? (
              <span>
                <strong>Malformed code:</strong> {check.result.error ?? 'this is not a Peerfold code.'}
              </span>
            ) : (
              (check.result.error ?? 'This code cannot be used.')
            )}
          </span>
        );
      return (
        <span className="status-inline">
          <span className={`access access-${check.result.level}`} data-testid="join-code-level" data-level={check.result.level}>
            <Icon name="check" size={12} /> {accessLabel[check.result.level]}
          </span>
          {check.result.invite ? (
            <InviteNote expiresAt={check.result.invite.expiresAt} />
          ) : (
            <span className="muted">{accessHint[check.result.level]}</span>
          )}
        </span>
      );
  }
}
