// "Invite a device": a one-time code for this share (level, how long it is valid, how many
// devices may use it), shown with its QR code once made. The code holds no share secret: the
// joining device redeems it with this device, which must be reachable then.
import { useState } from 'react';
import type { AccessLevel, InviteInfo, ShareSummary } from '../../../../shared/api.ts';
import { accessHint, accessLabel } from '../../store/derive.ts';
import { formatDateTime } from '../../store/format.ts';
import { errorMessage } from '../../store/reducers.ts';
import { useApp } from '../app-context.tsx';
import { CopyButton, ErrorText } from '../components/bits.tsx';
import { Dialog } from '../components/Dialog.tsx';
import { QrCode } from '../components/QrCode.tsx';

const HOUR = 3_600_000;
const lifetimes: { label: string; ms: number }[] = [
  { label: '1 hour', ms: HOUR },
  { label: '24 hours', ms: 24 * HOUR },
  { label: '7 days', ms: 7 * 24 * HOUR },
];
const levelOrder: AccessLevel[] = ['read-write', 'read-only', 'encrypted'];

/** Why a level cannot be invited from a device holding `held`, or null (anything else the engine refuses shows as the dialog's error). */
function levelProblem(held: AccessLevel, level: AccessLevel): string | null {
  if (levelOrder.indexOf(level) < levelOrder.indexOf(held)) return `this device holds ${accessLabel[held].toLowerCase()} access`;
  return null;
}

export function InviteDialog({
  share,
  onClose,
  onCreated,
}: {
  share: ShareSummary;
  onClose: () => void;
  onCreated: (inv: InviteInfo) => void;
}) {
  const { actions } = useApp();
  const [access, setAccess] = useState<AccessLevel>(share.access);
  const [lifetime, setLifetime] = useState(24 * HOUR);
  const [uses, setUses] = useState(1);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [made, setMade] = useState<InviteInfo | null>(null);

  const submit = async () => {
    if (busy || made) return;
    setBusy(true);
    setError(null);
    try {
      const inv = await actions.createInvite(share.id, { access, expiresInMs: lifetime, uses });
      setMade(inv);
      onCreated(inv);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const footer = made ? (
    <button type="button" className="btn btn-primary" onClick={onClose} data-testid="invite-done">
      Done
    </button>
  ) : (
    <>
      <button type="button" className="btn btn-secondary" onClick={onClose} data-testid="invite-cancel">
        Cancel
      </button>
      <button type="submit" className="btn btn-primary" disabled={busy || uses < 1} data-testid="invite-create">
        {busy ? 'Making…' : 'Make a one-time code'}
      </button>
    </>
  );

  return (
    <Dialog
      title={`Invite a device to “${share.name}”`}
      onClose={onClose}
      testid="invite-dialog"
      wide
      onSubmit={made ? undefined : submit}
      footer={footer}
    >
      {made ? (
        <div className="invite-made" data-testid="invite-made">
          <div className="invite-made-text">
            <p>
              <span className={`access access-${made.access}`}>{accessLabel[made.access]}</span>{' '}
              <span className="muted">
                for {made.usesLeft === 1 ? 'one device' : `${made.usesLeft} devices`}, until {formatDateTime(made.expiresAt)}
              </span>
            </p>
            <div className="code-line">
              <code className="code-value" data-testid="invite-code">
                {made.code}
              </code>
              <CopyButton text={made.code} label="Copy the invite code" testid="copy-invite-code" />
            </div>
            <p className="muted field-hint">
              The other device pastes it under “Join with a code”, and waits until it reaches this device, which lets it in: keep this
              device running and reachable. The code holds no key to the folder.
            </p>
          </div>
          <figure className="qr-card">
            <QrCode value={made.code} label="QR code of the invite" />
            <figcaption className="muted">Scan with a phone to copy the code.</figcaption>
          </figure>
        </div>
      ) : (
        <>
          <p className="muted">
            A one-time code lets another device join without anyone seeing the folder’s own codes. It stops working once used, when it
            expires, or when you revoke it.
          </p>
          <fieldset className="field invite-levels">
            <legend className="field-label">Access it grants</legend>
            {levelOrder.map((level) => {
              const problem = levelProblem(share.access, level);
              return (
                <label key={level} className={`radio-row ${problem ? 'is-disabled' : ''}`}>
                  <input
                    type="radio"
                    name="invite-access"
                    value={level}
                    checked={access === level}
                    disabled={!!problem}
                    onChange={() => setAccess(level)}
                    data-testid={`invite-access-${level}`}
                  />
                  <span className={`access access-${level}`}>{accessLabel[level]}</span>
                  <span className="muted code-hint">{problem ? `Not available: ${problem}.` : accessHint[level]}</span>
                </label>
              );
            })}
          </fieldset>
          <div className="input-row invite-limits">
            <div className="field">
              <label htmlFor="invite-expiry" className="field-label">
                Valid for
              </label>
              <select
                id="invite-expiry"
                className="input"
                value={lifetime}
                onChange={(e) => setLifetime(Number(e.target.value))}
                data-testid="invite-expiry"
              >
                {lifetimes.map((l) => (
                  <option key={l.ms} value={l.ms}>
                    {l.label}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor="invite-uses" className="field-label">
                Devices that may use it
              </label>
              <input
                id="invite-uses"
                className="input"
                type="number"
                min={1}
                max={1000}
                value={uses}
                onChange={(e) => setUses(Math.max(1, Math.min(1000, Math.floor(Number(e.target.value) || 1))))}
                data-testid="invite-uses"
              />
            </div>
          </div>
          {error && <ErrorText testid="invite-error">{error}</ErrorText>}
        </>
      )}
    </Dialog>
  );
}
