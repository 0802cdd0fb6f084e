// How numbers, times and IDs read for a person. Pure, locale-independent (tests pin the output).

const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** 1234567 -> "1.2 MB" (decimal units, as file managers and network tools show them). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  if (n < 1000) return `${Math.round(n)} B`;
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  // Round first, so 999.95 kB reads "1.0 MB" rather than "1000 kB".
  if (Number(v.toFixed(v < 10 ? 1 : 0)) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v).toString()} ${units[i]}`;
}

export function formatRate(bytesPerSec: number): string {
  if (!bytesPerSec || bytesPerSec < 1) return '0 B/s';
  return `${formatBytes(bytesPerSec)}/s`;
}

/** Seconds left -> "45 s", "3 min", "1 h 20 min", "2 days"; null -> "—". */
export function formatEta(sec: number | null): string {
  if (sec === null || !Number.isFinite(sec) || sec < 0) return '—';
  if (sec < 1) return '< 1 s';
  const s = Math.round(sec);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  return `${Math.round(h / 24)} days`;
}

/** "just now", "5 min ago", "3 h ago", "2 days ago"; older than a week: the date. */
export function formatAgo(at: number, now: number): string {
  const d = Math.max(0, now - at) / 1000;
  if (d < 45) return 'just now';
  if (d < 3600) return `${Math.max(1, Math.round(d / 60))} min ago`;
  if (d < 86400) return `${Math.round(d / 3600)} h ago`;
  if (d < 7 * 86400) {
    const days = Math.round(d / 86400);
    return days === 1 ? 'yesterday' : `${days} days ago`;
  }
  return formatDate(at);
}

/** How long a link has been up: "less than a minute", "5 min", "2 h", "3 days". */
export function formatConnectedFor(since: number, now: number): string {
  const d = Math.max(0, now - since) / 1000;
  if (d < 60) return 'less than a minute';
  if (d < 3600) return `${Math.floor(d / 60)} min`;
  if (d < 2 * 86400) return `${Math.floor(d / 3600)} h`;
  return `${Math.floor(d / 86400)} days`;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** "2025-03-14 09:26" in local time: unambiguous everywhere. */
export function formatDateTime(at: number): string {
  const d = new Date(at);
  return `${formatDate(at)} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function formatDate(at: number): string {
  const d = new Date(at);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The first group of a device ID, enough to tell devices apart at a glance. */
export function shortDeviceId(id: string): string {
  const dash = id.indexOf('-');
  const head = dash > 0 ? id.slice(0, Math.min(dash, 12)) : id.slice(0, 12);
  return head.length < id.length ? `${head}…` : id;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** Integer percentage for a fraction, floored so 99.9% never shows as 100% before it is done. */
export function percent(fraction: number): number {
  if (!Number.isFinite(fraction)) return 0;
  return Math.max(0, Math.min(100, Math.floor(fraction * 100)));
}
