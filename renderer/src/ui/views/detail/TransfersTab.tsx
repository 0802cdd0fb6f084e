import type { ShareSummary } from '../../../../../shared/api.ts';
import { needText, shareProgress } from '../../../store/derive.ts';
import { formatBytes, formatEta, formatRate } from '../../../store/format.ts';
import { EmptyState, ProgressBar } from '../../components/bits.tsx';
import { Icon } from '../../components/Icon.tsx';

export function TransfersTab({ share: s }: { share: ShareSummary }) {
  const pulling = s.pulling;
  return (
    <div className="stack">
      <div className="card transfer-summary">
        <div className="transfer-summary-line">
          <strong>{needText(s)}</strong>
          <span className="rates muted">
            <span>↓ {formatRate(s.inBytesPerSec)}</span>
            <span>↑ {formatRate(s.outBytesPerSec)}</span>
          </span>
        </div>
        <ProgressBar value={shareProgress(s)} label="Overall progress" testid="transfers-overall" tone={s.paused ? 'paused' : 'accent'} />
        {s.paused && <p className="muted small">Paused. Resume to continue transferring.</p>}
      </div>
      {pulling.length === 0 ? (
        <EmptyState icon="transfer" title={s.needFiles > 0 ? 'Waiting for a peer' : 'Nothing to transfer'} testid="transfers-empty">
          <p>
            {s.needFiles > 0
              ? 'Files are needed but no connected device can send them right now.'
              : 'Files being fetched from other devices show up here with their progress.'}
          </p>
        </EmptyState>
      ) : (
        <ul className="transfer-list" aria-label="Files being transferred">
          {pulling.map((p) => {
            const frac = p.size > 0 ? p.done / p.size : 1;
            return (
              <li key={p.path} className="transfer-row" data-testid="transfer-row" data-path={p.path}>
                <div className="transfer-head">
                  <Icon name="file" size={15} />
                  <span className="mono truncate" title={p.path} data-testid="transfer-path">
                    {p.path}
                  </span>
                  <span className="muted small transfer-size">
                    {formatBytes(p.done)} of {formatBytes(p.size)}
                  </span>
                </div>
                <ProgressBar value={frac} label={`${p.path}: ${Math.floor(frac * 100)}%`} testid="transfer-progress" size="sm" />
                <div className="transfer-meta small muted">
                  <span data-testid="transfer-speed">{formatRate(p.bytesPerSec)}</span>
                  <span data-testid="transfer-eta">{p.etaSec === null ? 'Time left unknown' : `${formatEta(p.etaSec)} left`}</span>
                </div>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
