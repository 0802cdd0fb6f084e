// Turns API results into what `peerfold` prints: readable lines and tables for people, one JSON
// document for scripts. Pure.
import type {
  ConflictInfo,
  ConflictSide,
  DeviceInfo,
  FileEntry,
  InviteInfo,
  Method,
  Params,
  PeerInfo,
  ReadOnlyChange,
  Result,
  Settings,
  ShareCodes,
  ShareSummary,
  StatusResult,
  TrackerInfo,
  VersionVector,
} from '../../shared/api.ts';
import type { CommandName } from './args.ts';

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '?';
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  if (v < 1024) return `${sign}${v} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = -1;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const shown = v >= 100 ? v.toFixed(0) : v.toFixed(1);
  // 1023.96 KiB rounds to "1024 KiB"; step up rather than print that
  if (shown === '1024' && i < units.length - 1) return `${sign}1.0 ${units[i + 1]}`;
  return `${sign}${shown} ${units[i]}`;
}

export function formatRate(bytesPerSec: number): string {
  return `${formatBytes(Math.round(bytesPerSec))}/s`;
}

export function formatCount(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Local time, to the second: 2025-03-01 14:05:09. */
export function formatTime(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '-';
  const d = new Date(ms);
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function formatDuration(sec: number | null): string {
  if (sec === null || !Number.isFinite(sec) || sec < 0) return '-';
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Device IDs are long; tables show the first group, enough to tell devices apart. */
export function shortId(id: string): string {
  const first = id.split('-')[0];
  return first.length >= 4 && first.length <= 12 ? first : id.slice(0, 8);
}

export function formatVersion(v: VersionVector): string {
  const parts = Object.entries(v)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([dev, n]) => `${shortId(dev)}:${n}`);
  return parts.length ? parts.join(',') : '-';
}

/** Columns separated by two spaces; `right` names the columns aligned right (numbers). */
export function formatTable(headers: string[], rows: string[][], right: number[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.includes(i) ? c.padStart(widths[i]) : i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

function percent(done: number, total: number): string {
  if (total <= 0) return '100%';
  return `${Math.min(100, Math.floor((done / total) * 100))}%`;
}

export function formatShares(shares: ShareSummary[]): string {
  if (shares.length === 0) return 'No shares yet. Share a folder with `peerfold share PATH`, or join one with `peerfold join CODE PATH`.';
  return formatTable(
    ['ID', 'NAME', 'STATE', 'FILES', 'SIZE', 'NEED', 'PEERS', 'PATH'],
    shares.map((s) => [
      s.id,
      s.name,
      s.state,
      String(s.localFiles),
      formatBytes(s.localBytes),
      s.needFiles ? `${s.needFiles} (${formatBytes(s.needBytes)})` : '-',
      String(s.peersConnected),
      s.path,
    ]),
    [3, 4, 6],
  );
}

export function formatShare(s: ShareSummary): string {
  const lines = [`${s.name}  ${s.path}`];
  const row = (k: string, v: string) => lines.push(`  ${k.padEnd(10)} ${v}`);
  row('id', s.id);
  row('access', s.access);
  row('state', s.state + (s.error ? `: ${s.error}` : ''));
  if (s.invite)
    row(
      'invite',
      s.error
        ? `the join with a one-time invite failed; \`peerfold unshare ${s.id}\` removes it`
        : `waiting for the device that made the invite (${shortId(s.invite.issuer)}); valid until ${formatTime(s.invite.expiresAt)}`,
    );
  row('local', `${formatCount(s.localFiles, 'file')}, ${formatBytes(s.localBytes)}`);
  row('global', `${formatCount(s.globalFiles, 'file')}, ${formatBytes(s.globalBytes)}`);
  if (s.needFiles || s.needBytes) row('need', `${formatCount(s.needFiles, 'file')}, ${formatBytes(s.needBytes)}`);
  row('peers', `${s.peersConnected} connected, down ${formatRate(s.inBytesPerSec)}, up ${formatRate(s.outBytesPerSec)}`);
  if (s.localChanges)
    row(
      'local',
      `${formatCount(s.localChanges, 'change')} made here that no other device takes (read-only; see \`peerfold changes ${s.id}\`)`,
    );
  if (s.rejectedEntries)
    row('refused', `${formatCount(s.rejectedEntries, 'entry', 'entries')} from peers without a valid writer signature (see the log)`);
  if (s.heldDeletes) {
    row(
      'held',
      `${formatCount(s.heldDeletes, 'deletion')} not sent: most of the share was deleted at once. Confirm with \`peerfold confirm-deletes ${s.id}\`, or get the files back with \`peerfold restore-deletes ${s.id}\``,
    );
  }
  if (s.conflicts) row('conflicts', `${s.conflicts} (see \`peerfold conflicts ${s.id}\`)`);
  row('watcher', s.watcher === 'rescan-only' ? 'rescan-only (the OS file-watch limit was reached)' : s.watcher);
  row('last scan', formatTime(s.lastScanAt));
  if (s.pulling.length) {
    lines.push('  pulling:');
    for (const p of s.pulling) {
      lines.push(
        `    ${p.path}  ${percent(p.done, p.size)} of ${formatBytes(p.size)}, ${formatRate(p.bytesPerSec)}, ${formatDuration(p.etaSec)} left`,
      );
    }
  }
  if (s.errors.length) {
    lines.push(`  errors (${s.errors.length}):`);
    for (const e of s.errors) lines.push(`    ${e.path}: ${e.error}`);
  }
  return lines.join('\n');
}

export function formatDevice(d: DeviceInfo): string {
  return `Device ${d.id} (${d.name}), sync port ${d.listenPort || '-'}, version ${d.version}`;
}

export function formatStatus(st: StatusResult): string {
  const head =
    formatDevice(st.device) +
    (st.error ? `\nProblem: ${st.error}` : '') +
    (st.paused ? '\nEverything is paused; `peerfold resume` resumes.' : '') +
    formatTrackers(st.trackers ?? []);
  if (st.shares.length === 0) return `${head}\n\n${formatShares([])}`;
  return [head, ...st.shares.map(formatShare)].join('\n\n');
}

/** One line per internet tracker, when there are any: where it stands, and why when it is not working. */
export function formatTrackers(trackers: TrackerInfo[]): string {
  return trackers.map((t) => `\nTracker ${t.url}: ${t.state}${t.error ? ` (${t.error})` : ''}`).join('');
}

function fileType(f: FileEntry): string {
  if (f.deleted) return 'deleted';
  return f.type === 'symlink' ? 'link' : f.type;
}

export function formatFiles(files: FileEntry[]): string {
  if (files.length === 0) return 'No files.';
  return formatTable(
    ['TYPE', 'MODE', 'SIZE', 'MODIFIED', 'SEQ', 'VERSION', 'CHUNKS', 'HASH', 'PATH'],
    files.map((f) => [
      fileType(f),
      f.deleted || f.type === 'symlink' ? '-' : (f.mode & 0o7777).toString(8).padStart(3, '0'),
      f.type === 'file' && !f.deleted ? formatBytes(f.size) : '-',
      formatTime(f.mtimeMs),
      String(f.sequence),
      formatVersion(f.version),
      f.type === 'file' && !f.deleted ? String(f.chunks) : '-',
      f.hash ? f.hash.slice(0, 12) : '-',
      f.type === 'symlink' && f.symlinkTarget !== null ? `${f.path} -> ${f.symlinkTarget}` : f.path,
    ]),
    [2, 4, 6],
  );
}

export function formatCodes(c: ShareCodes): string {
  const rows: [string, string | null][] = [
    ['read-write', c.readWrite],
    ['read-only', c.readOnly],
    ['encrypted', c.encrypted],
  ];
  return rows.map(([k, v]) => `${k.padEnd(10)}  ${v ?? '(not on this device: it holds a weaker level)'}`).join('\n');
}

export function formatChanges(list: ReadOnlyChange[]): string {
  if (!list.length) return 'No local changes.';
  const lines = formatTable(
    ['CHANGE', 'PATH'],
    list.map((c) => [c.change, c.path]),
    [],
  );
  return `${lines}\nNo other device takes these (the share is read-only here). Undo them with \`peerfold revert SHARE [PATH]\`.`;
}

export function formatInvites(list: InviteInfo[]): string {
  if (!list.length) return 'No open invites. Make one with `peerfold invite SHARE`.';
  return formatTable(
    ['ID', 'ACCESS', 'USES LEFT', 'EXPIRES', 'CODE'],
    list.map((i) => [i.id, i.access, String(i.usesLeft), new Date(i.expiresAt).toISOString(), i.code]),
    [2],
  );
}

export function formatPeers(peers: PeerInfo[]): string {
  if (peers.length === 0)
    return 'No peers yet. They appear when a device with the same share is found on the LAN, or after `peerfold peer add SHARE HOST:PORT`.';
  return formatTable(
    ['DEVICE', 'NAME', 'STATE', 'SINCE', 'VIA', 'TRANSPORT', 'ADDRESS', 'IN', 'OUT', 'DOWN', 'UP', 'SHARES'],
    peers.map((p) => [
      shortId(p.deviceId),
      p.name,
      p.connected ? 'connected' : 'offline',
      p.connected ? formatTime(p.connectedSince) : '-',
      p.via,
      p.connected ? `${p.transport}${(p.streams ?? 1) > 1 ? ` x${p.streams}` : ''}` : '-',
      p.address ?? '-',
      formatBytes(p.inBytes),
      formatBytes(p.outBytes),
      formatRate(p.inBytesPerSec),
      formatRate(p.outBytesPerSec),
      String(p.shareIds.length),
    ]),
    [7, 8, 9, 10, 11],
  );
}

function side(label: string, s: ConflictSide): string {
  return `  ${label.padEnd(6)} ${s.deviceName} (${shortId(s.deviceId)}), ${formatTime(s.mtimeMs)}, ${formatBytes(s.size)}, ${s.hash ? s.hash.slice(0, 12) : '-'}`;
}

export function formatConflicts(list: ConflictInfo[]): string {
  if (list.length === 0) return 'No conflicts.';
  return list
    .map((c) =>
      [
        `${c.path}  (share ${c.shareId}, ${formatTime(c.createdAt)})`,
        side('kept', c.winner),
        side('copy', c.loser) + `  -> ${c.conflictPath}`,
        `  resolve with: peerfold resolve ${c.shareId} ${c.path} --keep local|remote|both`,
      ].join('\n'),
    )
    .join('\n\n');
}

export function formatSettings(s: Settings): string {
  // lists as the CLI takes them: one comma-separated value
  const rows = Object.entries(s).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') || '(none)' : String(v)]);
  return formatTable(['KEY', 'VALUE'], rows);
}

/** Human output for a command's result. `params` are the ones sent, for messages like "paused X". */
export function formatHuman(command: CommandName, result: unknown, params: Params<Method>): string {
  const p = params as Record<string, string | undefined>;
  const target = p.share ? `share ${p.share}` : 'all shares';
  switch (command) {
    case 'id':
      return (result as Result<'status'>).device.id;
    case 'shares':
      return formatShares((result as Result<'status'>).shares);
    case 'status': {
      const st = result as Result<'status'>;
      return p.share ? st.shares.map(formatShare).join('\n\n') || `No share ${p.share}.` : formatStatus(st);
    }
    case 'share': {
      const r = result as Result<'share'>;
      const lines = [`Shared ${r.share.path} as "${r.share.name}" (id ${r.share.id}).`];
      if (r.share.error) lines.push(`Note: ${r.share.error}`);
      if (r.codes.readWrite) lines.push(`Read-write code: ${r.codes.readWrite}`, 'Give it to another device: peerfold join CODE PATH');
      return lines.join('\n');
    }
    case 'join': {
      const r = result as Result<'join'>;
      if (r.share.invite)
        return [
          `Joined "${r.share.name}" into ${r.share.path} with a one-time invite (id ${r.share.id} until it is granted).`,
          `Still waiting for the device that made the invite (${shortId(r.share.invite.issuer)}): it must be running and on this network, or give its address (--peer HOST:PORT).`,
          `The share keeps trying until the invite expires (${formatTime(r.share.invite.expiresAt)}): \`peerfold shares\` shows when it answers; \`peerfold unshare ${r.share.id}\` gives up.`,
        ].join('\n');
      return `Joined "${r.share.name}" into ${r.share.path} (id ${r.share.id}); it syncs when a peer with the share is reachable.`;
    }
    case 'unshare':
      return (result as Result<'unshare'>).removed === 'join'
        ? `Gave up the join by invite ${p.share}: nothing of the share was delivered, and its folder stays as it was.`
        : `Stopped sharing ${p.share}; its files stay where they are.`;
    case 'files':
      return formatFiles(result as Result<'files'>);
    case 'rescan':
      return `Rescan started for ${target}.`;
    case 'pause':
      return `Paused ${target}.`;
    case 'resume':
      return `Resumed ${target}.`;
    case 'stop':
      return 'Daemon stopped.';
    case 'codes':
      return formatCodes(result as Result<'codes'>);
    case 'invite': {
      const r = result as Result<'invite'>;
      return [
        `One-time invite ${r.id} (${r.access}, ${formatCount(r.usesLeft, 'use')}, valid until ${new Date(r.expiresAt).toISOString()}):`,
        r.code,
        'Give it to the device that should join: peerfold join CODE PATH',
      ].join('\n');
    }
    case 'invites':
      return formatInvites(result as Result<'invites'>);
    case 'revoke':
      return `Revoked invite ${p.id}: it can no longer be used.`;
    case 'peers':
      return formatPeers(result as Result<'peers'>);
    case 'peer add':
      return `Added ${p.address} as a peer address for share ${p.share}.`;
    case 'conflicts':
      return formatConflicts(result as Result<'conflicts'>);
    case 'resolve':
      return `Resolved ${p.path}: kept ${p.keep === 'both' ? 'both versions' : `the ${p.keep} version`}.`;
    case 'changes':
      return formatChanges(result as Result<'changes'>);
    case 'revert': {
      const n = (result as Result<'revert'>).reverted;
      return `Reverted ${formatCount(n, 'local change')}: the shared version comes back; what was here is in the archive.`;
    }
    case 'confirm-deletes': {
      const n = (result as Result<'confirmDeletes'>).deleted;
      return n ? `Deleted ${formatCount(n, 'path')} on the other devices too.` : `No deletions were held in ${p.share}.`;
    }
    case 'restore-deletes': {
      const n = (result as Result<'restoreDeletes'>).restoring;
      return n ? `Pulling ${formatCount(n, 'path')} back from the other devices.` : `No deletions were held in ${p.share}.`;
    }
    case 'settings':
      return formatSettings(result as Settings);
  }
}

/**
 * The --json document: the call's result as the contract types it, except `id` (DeviceInfo) and
 * `shares` (ShareSummary[]), which print the part of StatusResult they are about.
 */
export function jsonOutput(command: CommandName, result: unknown): unknown {
  if (command === 'id') return (result as StatusResult).device;
  if (command === 'shares') return (result as StatusResult).shares;
  return result;
}

export function formatJson(command: CommandName, result: unknown): string {
  return JSON.stringify(jsonOutput(command, result), null, 2);
}
