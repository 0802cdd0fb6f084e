// The frame around every view: sidebar, connection banner, status bar, notices, drop target.
import { useEffect, useRef, useState } from 'react';
import type { ShareSummary } from '../../../shared/api.ts';
import { overall, shareBadge } from '../store/derive.ts';
import { formatRate, shortDeviceId } from '../store/format.ts';
import type { Route } from '../store/state.ts';
import { useApp, useAppState } from './app-context.tsx';
import { CopyButton } from './components/bits.tsx';
import { Icon, Logo, type IconName } from './components/Icon.tsx';
import { useShareFolder } from './flows.ts';

export function Sidebar() {
  const { actions } = useApp();
  const route = useAppState((s) => s.route);
  const shares = useAppState((s) => s.shares);
  const conflictCount = useAppState((s) => s.conflicts.length);
  const { start } = useShareFolder();

  const item = (id: string, label: string, icon: IconName, to: Route, active: boolean, badge?: number) => (
    <li>
      <button
        type="button"
        className={`nav-item ${active ? 'is-active' : ''}`}
        aria-current={active ? 'page' : undefined}
        onClick={() => actions.navigate(to)}
        data-testid={`nav-${id}`}
      >
        <Icon name={icon} size={17} />
        <span className="nav-label">{label}</span>
        {badge ? (
          <span className="nav-badge" data-testid={`nav-${id}-count`} aria-label={`${badge} waiting`}>
            {badge}
          </span>
        ) : null}
      </button>
    </li>
  );

  return (
    <nav className="sidebar" aria-label="Main">
      <div className="brand">
        <Logo />
        <span className="brand-name">Peerfold</span>
      </div>
      <button type="button" className="btn btn-primary btn-block" onClick={() => void start()} data-testid="sidebar-share-folder">
        <Icon name="folderPlus" size={15} />
        Share a folder
      </button>
      <ul className="nav">
        {item('shares', 'Shares', 'folder', { view: 'shares' }, route.view === 'shares')}
        {shares.length > 0 && (
          <li>
            <ul className="nav-sub" aria-label="Your shares">
              {shares.map((s) => (
                <ShareNavItem key={s.id} share={s} active={route.view === 'share' && route.shareId === s.id} />
              ))}
            </ul>
          </li>
        )}
        {item('join', 'Join with a code', 'link', { view: 'join' }, route.view === 'join')}
        {item('conflicts', 'Conflicts', 'alert', { view: 'conflicts' }, route.view === 'conflicts', conflictCount)}
        {item('settings', 'Settings', 'sliders', { view: 'settings' }, route.view === 'settings')}
      </ul>
    </nav>
  );
}

function ShareNavItem({ share: s, active }: { share: ShareSummary; active: boolean }) {
  const { actions } = useApp();
  const badge = shareBadge(s);
  return (
    <li>
      <button
        type="button"
        className={`nav-subitem ${active ? 'is-active' : ''}`}
        aria-current={active ? 'page' : undefined}
        onClick={() => actions.navigate({ view: 'share', shareId: s.id, tab: 'codes' })}
        data-testid="nav-share"
        data-share-id={s.id}
      >
        <span className={`dot dot-${badge}`} aria-hidden="true" />
        <span className="truncate">{s.name}</span>
      </button>
    </li>
  );
}

export function StatusBar() {
  const { actions } = useApp();
  const device = useAppState((s) => s.device);
  const connection = useAppState((s) => s.connection);
  const everConnected = useAppState((s) => s.everConnected);
  const shares = useAppState((s) => s.shares);
  const allPaused = useAppState((s) => s.allPaused);
  const conflicts = useAppState((s) => s.conflicts);
  const o = overall({ connection, everConnected, shares, allPaused, conflicts });
  const anyRunning = shares.some((s) => !s.paused);
  const paused = allPaused || (shares.length > 0 && !anyRunning);

  return (
    <footer className="statusbar" data-testid="statusbar">
      <div className="status-device">
        <Icon name="monitor" size={14} />
        <span className="status-device-name" data-testid="status-device-name">
          {device?.name ?? '—'}
        </span>
        {device && (
          <>
            <span className="mono muted status-device-id" title={device.id} data-testid="status-device-id" data-device-id={device.id}>
              {shortDeviceId(device.id)}
            </span>
            <CopyButton text={device.id} label="Copy this device’s ID" testid="copy-device-id" compact />
          </>
        )}
      </div>
      <div className="status-state" data-testid="status-overall" data-state={o.kind} role="status" aria-live="polite">
        <span className={`dot dot-${o.kind}`} aria-hidden="true" />
        {o.text}
      </div>
      <div className="status-right">
        <span className="status-rates" data-testid="status-rates">
          <span title="Download">
            <Icon name="down" size={13} /> {formatRate(o.inBytesPerSec)}
          </span>
          <span title="Upload">
            <Icon name="up" size={13} /> {formatRate(o.outBytesPerSec)}
          </span>
        </span>
        <button
          type="button"
          className="btn btn-ghost btn-sm"
          disabled={connection !== 'connected' || shares.length === 0}
          onClick={() => void (paused ? actions.resume() : actions.pause())}
          data-testid="pause-all-toggle"
          data-paused={paused}
        >
          <Icon name={paused ? 'play' : 'pause'} size={13} />
          {paused ? 'Resume all' : 'Pause all'}
        </button>
      </div>
    </footer>
  );
}

export function ConnectionBanner() {
  const { bridge } = useApp();
  const connection = useAppState((s) => s.connection);
  const everConnected = useAppState((s) => s.everConnected);
  const retryAt = useAppState((s) => s.retryAt);
  const [, tick] = useState(0);
  useEffect(() => {
    if (connection !== 'disconnected') return;
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [connection]);
  if (connection !== 'disconnected') return null;
  const secs = retryAt ? Math.max(0, Math.ceil((retryAt - Date.now()) / 1000)) : 0;
  const retry = (bridge as { reconnectNow?: () => void }).reconnectNow;
  return (
    <div className="banner banner-danger" role="alert" data-testid="connection-banner" data-state="disconnected">
      <Icon name="power" size={16} />
      <div className="banner-text">
        <strong>{everConnected ? 'Disconnected from the daemon.' : 'Cannot reach the Peerfold daemon.'}</strong>{' '}
        {secs > 0 ? `Trying again in ${secs} s.` : 'Trying again…'} Check that <span className="mono">peerfold</span> is still running; if
        it restarted, open the link it printed again (it carries the access token).
      </div>
      {retry && (
        <button type="button" className="btn btn-sm btn-secondary" onClick={() => retry()} data-testid="connection-retry">
          Retry now
        </button>
      )}
    </div>
  );
}

export function Notices() {
  const { actions } = useApp();
  const notices = useAppState((s) => s.notices);
  // Successes and infos fade on their own; errors stay until dismissed.
  useEffect(() => {
    const timers = notices.filter((n) => n.kind !== 'error').map((n) => setTimeout(() => actions.dismissNotice(n.id), 6000));
    return () => timers.forEach(clearTimeout);
  }, [notices, actions]);
  return (
    <div className="toasts" aria-live="polite" aria-relevant="additions">
      {notices.map((n) => (
        <div
          key={n.id}
          className={`toast toast-${n.kind}`}
          role={n.kind === 'error' ? 'alert' : 'status'}
          data-testid="toast"
          data-kind={n.kind}
        >
          <Icon name={n.kind === 'error' ? 'alert' : n.kind === 'success' ? 'check' : 'info'} size={16} />
          <div className="toast-body">
            <div className="toast-title">{n.title}</div>
            <div className="toast-message">{n.message}</div>
          </div>
          <button
            type="button"
            className="btn btn-icon btn-ghost"
            onClick={() => actions.dismissNotice(n.id)}
            aria-label="Dismiss"
            data-testid="toast-dismiss"
          >
            <Icon name="x" size={14} />
          </button>
        </div>
      ))}
    </div>
  );
}

/** Window-wide drop target: shares dropped folders where the shell exposes their paths. */
export function useWindowDrop(): 'none' | 'can-drop' | 'cannot-drop' {
  const { bridge } = useApp();
  const { shareDropped } = useShareFolder();
  const [over, setOver] = useState<'none' | 'can-drop' | 'cannot-drop'>('none');
  const depth = useRef(0);
  useEffect(() => {
    const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes('Files');
    const enter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth.current++;
      setOver(bridge.capabilities.dropPaths ? 'can-drop' : 'cannot-drop');
    };
    const overH = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = bridge.capabilities.dropPaths ? 'copy' : 'none';
    };
    const leave = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      depth.current = Math.max(0, depth.current - 1);
      if (depth.current === 0) setOver('none');
    };
    const drop = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth.current = 0;
      setOver('none');
      if (e.dataTransfer) void shareDropped(e.dataTransfer);
    };
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragover', overH);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragover', overH);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('drop', drop);
    };
  }, [bridge, shareDropped]);
  return over;
}
