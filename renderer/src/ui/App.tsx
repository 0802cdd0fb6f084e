import { useEffect, useRef } from 'react';
import { parseHash, routeToHash } from '../store/route.ts';
import { useApp, useAppState } from './app-context.tsx';
import { Spinner } from './components/bits.tsx';
import { Icon } from './components/Icon.tsx';
import { ConnectionBanner, Notices, Sidebar, StatusBar, useWindowDrop } from './Shell.tsx';
import { ConflictsView } from './views/ConflictsView.tsx';
import { JoinView } from './views/JoinView.tsx';
import { SettingsView } from './views/SettingsView.tsx';
import { ShareDetailView } from './views/ShareDetailView.tsx';
import { SharesView } from './views/SharesView.tsx';

/** Keeps the URL hash and the store's route in step, both ways. */
function useHashRoute() {
  const { actions, store } = useApp();
  const route = useAppState((s) => s.route);
  const ready = useAppState((s) => s.device !== null);
  useEffect(() => {
    const onHash = () => {
      const next = parseHash(window.location.hash);
      if (routeToHash(next) !== routeToHash(store.getState().route)) actions.navigate(next);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, [actions, store]);
  useEffect(() => {
    // Before the first status the share list is unknown: leave a deep link alone until then.
    if (!ready) return;
    const hash = routeToHash(route);
    if (window.location.hash !== hash) window.history.pushState(null, '', hash);
  }, [route, ready]);
}

export function App() {
  useHashRoute();
  const route = useAppState((s) => s.route);
  const ready = useAppState((s) => s.device !== null);
  const connection = useAppState((s) => s.connection);
  const drop = useWindowDrop();
  const viewKey = route.view === 'share' ? `share:${route.shareId}` : route.view;
  const firstView = useRef(true);

  useEffect(() => {
    // Follow navigation with focus (keyboard and screen-reader users land on the new view's
    // heading), unless the view already focused one of its own fields.
    if (firstView.current) {
      firstView.current = false;
      return;
    }
    const main = document.getElementById('main');
    main?.scrollTo({ top: 0 });
    if (!main || main.contains(document.activeElement)) return;
    const h = main.querySelector<HTMLElement>('h1');
    if (h) {
      h.tabIndex = -1;
      h.focus({ preventScroll: true });
    }
  }, [viewKey]);

  return (
    <div className="app" data-testid="app" data-connection={connection}>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <Sidebar />
      <div className="main-col">
        <ConnectionBanner />
        <main className="main" id="main" tabIndex={-1}>
          {!ready ? (
            <div className="loading-screen" data-testid="loading">
              <Spinner label="Connecting to Peerfold" />
              <span className="muted">
                {connection === 'disconnected' ? 'Waiting for the Peerfold daemon…' : 'Connecting to Peerfold…'}
              </span>
            </div>
          ) : route.view === 'share' ? (
            <ShareDetailView shareId={route.shareId} tab={route.tab} />
          ) : route.view === 'join' ? (
            <JoinView />
          ) : route.view === 'conflicts' ? (
            <ConflictsView />
          ) : route.view === 'settings' ? (
            <SettingsView />
          ) : (
            <SharesView />
          )}
        </main>
      </div>
      <StatusBar />
      <Notices />
      {drop !== 'none' && (
        <div className={`drop-overlay ${drop === 'cannot-drop' ? 'is-disabled' : ''}`} data-testid="drop-overlay" aria-hidden="true">
          <div className="drop-overlay-box">
            <Icon name={drop === 'can-drop' ? 'upload' : 'info'} size={32} />
            <strong>{drop === 'can-drop' ? 'Drop a folder to share it' : 'Dropping folders works in the desktop app'}</strong>
            <span>
              {drop === 'can-drop'
                ? 'Peerfold shares it and shows you its codes.'
                : 'Here, use “Share a folder” and pick it on the server.'}
            </span>
          </div>
        </div>
      )}
    </div>
  );
}
