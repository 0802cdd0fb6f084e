// Entry: pick the bridge (Electron's preload, or the daemon's WebSocket), start the store, render.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import type { PeerfoldBridge } from '../../shared/api.ts';
import { apiUrlFor, createWsBridge } from './bridge/ws-bridge.ts';
import { parseHash } from './store/route.ts';
import { createPeerfoldApp } from './store/store.ts';
import { AppContext } from './ui/app-context.tsx';
import { App } from './ui/App.tsx';
import './styles.css';

declare global {
  interface Window {
    /** set by Electron's preload; absent in the web UI */
    peerfold?: PeerfoldBridge;
  }
}

const bridge: PeerfoldBridge = window.peerfold ?? createWsBridge({ url: apiUrlFor(window.location) });
const app = createPeerfoldApp(bridge, { route: parseHash(window.location.hash) });
app.actions.start();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <AppContext.Provider value={app}>
      <App />
    </AppContext.Provider>
  </StrictMode>,
);
