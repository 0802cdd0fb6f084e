// Small presentational pieces shared by the views.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { ShareState } from '../../../../shared/api.ts';
import { stateLabel } from '../../store/derive.ts';
import { percent } from '../../store/format.ts';
import { Icon, type IconName } from './Icon.tsx';

export function StateBadge({ state, testid = 'share-state' }: { state: ShareState; testid?: string }) {
  return (
    <span className={`badge badge-${state}`} data-testid={testid} data-state={state}>
      <span className="badge-dot" aria-hidden="true" />
      {stateLabel[state]}
    </span>
  );
}

export function ProgressBar({
  value,
  label,
  testid,
  tone = 'accent',
  size = 'md',
}: {
  value: number;
  label: string;
  testid?: string;
  tone?: 'accent' | 'ok' | 'paused';
  size?: 'sm' | 'md';
}) {
  const pct = percent(value);
  return (
    <div
      className={`progress progress-${size} progress-${tone}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct}
      data-testid={testid}
      data-value={pct}
    >
      <div className="progress-fill" style={{ width: `${Math.max(0, Math.min(1, value)) * 100}%` }} />
    </div>
  );
}

export function EmptyState({
  icon,
  title,
  children,
  actions,
  testid,
}: {
  icon: IconName;
  title: string;
  children?: ReactNode;
  actions?: ReactNode;
  testid?: string;
}) {
  return (
    <div className="empty" data-testid={testid}>
      <div className="empty-icon">
        <Icon name={icon} size={28} />
      </div>
      <h3 className="empty-title">{title}</h3>
      {children && <div className="empty-text">{children}</div>}
      {actions && <div className="empty-actions">{actions}</div>}
    </div>
  );
}

/** Copies text, with a fallback for pages the browser does not consider secure (plain http on a LAN IP). */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through
  }
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.style.position = 'fixed';
  ta.style.opacity = '0';
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

export function CopyButton({ text, label, testid, compact = false }: { text: string; label: string; testid?: string; compact?: boolean }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  const onClick = async () => {
    const ok = await copyText(text);
    setState(ok ? 'copied' : 'failed');
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => setState('idle'), 1600);
  };
  const shown = state === 'copied' ? 'Copied' : state === 'failed' ? 'Select and copy' : 'Copy';
  return (
    <button
      type="button"
      className={`btn ${compact ? 'btn-icon btn-ghost' : 'btn-secondary btn-sm'} ${state === 'copied' ? 'is-done' : ''}`}
      onClick={onClick}
      aria-label={label}
      title={label}
      data-testid={testid}
      data-state={state}
    >
      <Icon name={state === 'copied' ? 'check' : 'copy'} size={14} />
      {!compact && <span>{shown}</span>}
      <span className="sr-only" aria-live="polite">
        {state === 'copied' ? 'Copied to the clipboard' : ''}
      </span>
    </button>
  );
}

export function Spinner({ label = 'Loading' }: { label?: string }) {
  return <span className="spinner" role="status" aria-label={label} />;
}

export function ErrorText({ children, testid }: { children: ReactNode; testid?: string }) {
  return (
    <p className="field-error" role="alert" data-testid={testid}>
      <Icon name="alert" size={14} />
      <span>{children}</span>
    </p>
  );
}

/** Re-renders every `ms` so relative times ("5 min ago") stay true. */
export function useNow(ms = 30_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
