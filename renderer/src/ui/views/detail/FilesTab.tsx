import { useMemo, useState } from 'react';
import type { ShareSummary } from '../../../../../shared/api.ts';
import { formatBytes, formatDateTime, plural } from '../../../store/format.ts';
import { EmptyState } from '../../components/bits.tsx';
import { Icon } from '../../components/Icon.tsx';
import { ResourcePending } from './row-bits.tsx';
import { useShareResource } from './use-resource.ts';

const SHOW = 500;

export function FilesTab({ share }: { share: ShareSummary }) {
  const res = useShareResource(share, 'files', { followChanges: true });
  const [filter, setFilter] = useState('');
  const files = useMemo(() => {
    const all = (res?.data ?? []).filter((f) => !f.deleted);
    const q = filter.trim().toLowerCase();
    const hit = q ? all.filter((f) => f.path.toLowerCase().includes(q)) : all;
    return [...hit].sort((a, b) => a.path.localeCompare(b.path));
  }, [res?.data, filter]);

  if (!res?.data) return <ResourcePending res={res} label="Loading files" />;
  const total = res.data.filter((f) => !f.deleted).length;
  if (total === 0)
    return (
      <EmptyState icon="file" title="No files yet" testid="files-empty">
        <p>Put files into the folder, or wait for them to arrive from other devices.</p>
      </EmptyState>
    );

  return (
    <div className="stack">
      <div className="toolbar">
        <div className="input-icon">
          <Icon name="filter" size={14} />
          <input
            className="input"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            placeholder="Filter by name"
            aria-label="Filter files by name"
            data-testid="files-filter"
          />
        </div>
        <span className="muted small">
          {filter ? `${plural(files.length, 'match', 'matches')} of ${plural(total, 'item')}` : plural(total, 'item')}
        </span>
      </div>
      <div className="table-wrap">
        <table className="table table-compact" data-testid="file-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col" className="num">
                Size
              </th>
              <th scope="col">Modified</th>
            </tr>
          </thead>
          <tbody>
            {files.slice(0, SHOW).map((f) => (
              <tr key={f.path} data-testid="file-row" data-path={f.path}>
                <td>
                  <span className="file-cell">
                    <Icon name={f.type === 'dir' ? 'folder' : f.type === 'symlink' ? 'link' : 'file'} size={14} />
                    <span className="mono truncate" title={f.path}>
                      {f.path}
                    </span>
                  </span>
                </td>
                <td className="num">{f.type === 'file' ? formatBytes(f.size) : '—'}</td>
                <td className="muted">{formatDateTime(f.mtimeMs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {files.length > SHOW && <p className="muted small">Showing the first {SHOW}. Filter to find the rest.</p>}
    </div>
  );
}
