// React access to the one app (store + actions + bridge).
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { PeerfoldApp } from '../store/store.ts';
import type { AppState } from '../store/state.ts';

export const AppContext = createContext<PeerfoldApp | null>(null);

export function useApp(): PeerfoldApp {
  const app = useContext(AppContext);
  if (!app) throw new Error('useApp outside <AppContext.Provider>');
  return app;
}

/** Subscribes to a slice of the store; select stable references or primitives. */
export function useAppState<T>(selector: (s: AppState) => T): T {
  return useStore(useApp().store, selector);
}

export function useActions() {
  return useApp().actions;
}
