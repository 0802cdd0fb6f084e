// An ARIA tab list with roving focus: Tab enters the list once, arrow keys move, Home/End jump.
import { useRef, type ReactNode } from 'react';

export interface TabSpec<T extends string> {
  id: T;
  label: string;
  count?: number | null;
  attention?: boolean;
}

export function Tabs<T extends string>({
  tabs,
  current,
  onSelect,
  idPrefix,
}: {
  tabs: TabSpec<T>[];
  current: T;
  onSelect: (id: T) => void;
  idPrefix: string;
}) {
  const refs = useRef<(HTMLButtonElement | null)[]>([]);
  const move = (i: number) => {
    const n = (i + tabs.length) % tabs.length;
    refs.current[n]?.focus();
    onSelect(tabs[n].id);
  };
  return (
    <div className="tabs" role="tablist" aria-orientation="horizontal">
      {tabs.map((t, i) => {
        const selected = t.id === current;
        return (
          <button
            key={t.id}
            ref={(el) => {
              refs.current[i] = el;
            }}
            type="button"
            role="tab"
            id={`${idPrefix}-tab-${t.id}`}
            aria-selected={selected}
            aria-controls={`${idPrefix}-panel`}
            tabIndex={selected ? 0 : -1}
            className={`tab ${selected ? 'is-selected' : ''}`}
            data-testid={`tab-${t.id}`}
            onClick={() => onSelect(t.id)}
            onKeyDown={(e) => {
              if (e.key === 'ArrowRight') move(i + 1);
              else if (e.key === 'ArrowLeft') move(i - 1);
              else if (e.key === 'Home') move(0);
              else if (e.key === 'End') move(tabs.length - 1);
              else return;
              e.preventDefault();
            }}
          >
            {t.label}
            {t.count != null && t.count > 0 && <span className={`tab-count ${t.attention ? 'is-attention' : ''}`}>{t.count}</span>}
          </button>
        );
      })}
    </div>
  );
}

export function TabPanel({ idPrefix, current, children }: { idPrefix: string; current: string; children: ReactNode }) {
  return (
    <div
      className="tab-panel"
      role="tabpanel"
      id={`${idPrefix}-panel`}
      aria-labelledby={`${idPrefix}-tab-${current}`}
      data-testid={`panel-${current}`}
    >
      {children}
    </div>
  );
}
