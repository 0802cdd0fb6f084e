// DEVELOPMENT ONLY: an in-page stand-in for the engine, with realistic sample data, so the
// renderer can be looked at (screenshots) without a daemon. It is never imported by renderer/src
// and so never part of the shipped bundle: renderer/dev/screenshots.mjs bundles it separately and
// injects it as window.peerfold before the page loads. It is not a test of the engine.
import type {
  ApiEvents,
  ArchiveEntry,
  ConflictInfo,
  DirListing,
  EventName,
  FileEntry,
  FilePreview,
  InviteInfo,
  Method,
  Params,
  PeerInfo,
  PeerfoldBridge,
  RecentChange,
  Result,
  Settings,
  ShareCodes,
  ShareSummary,
  ShellCapabilities,
  StatusResult,
} from '../../shared/api.ts';
import { emptyShareSummary } from '../../shared/share-summary.ts';
import type { ConnectionAware, ConnectionState } from '../src/bridge/ws-bridge.ts';

export interface FakeOptions {
  capabilities?: Partial<ShellCapabilities>;
  /** start with no shares (the first-run look) */
  empty?: boolean;
  /** the Work share holds this many deletions (the mass-delete guard) */
  heldDeletes?: number;
  /** pretend the daemon went away this long after the first load */
  disconnectAfterMs?: number;
}

const HOUR = 3600_000;
const NOW = Date.now();
const ME = 'MFRGGZD-FMZTMOB-ZGQ4TMN-BVG6ZDB-OJ2HK3A';
const DESKTOP = 'KQ3BXWE-PL2RT7Y-NB4VCXZ-A6SDFGH-JK5LQWE';
const PHONE = 'ZXCVB7N-MASDF4G-HJKLQ2W-ERTYU6I-OPLKJ3H';
const NAS = 'QWERT5Y-UIOPA2S-DFGHJ6K-LZXCV3B-NMQWE4R';
const OLDMAC = 'PLMOK7N-IJBUH2V-YGCTF6X-RDZES3W-AQXSW4E';

const bech = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
function fakeCode(prefix: string, length: number, seed: number): string {
  let s = seed;
  let out = `${prefix}1q`;
  while (out.length < length) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    out += bech[(s >>> 16) % 32];
  }
  return out;
}

function share(over: Partial<ShareSummary> & Pick<ShareSummary, 'id' | 'name' | 'path'>): ShareSummary {
  return {
    ...emptyShareSummary({ id: over.id, name: over.name, path: over.path, access: 'read-write' }),
    watcher: 'watching',
    lastScanAt: NOW - 4 * 60_000,
    ...over,
  };
}

function sampleShares(): ShareSummary[] {
  return [
    share({
      id: 'sh-photos',
      name: 'Photos',
      path: '/home/ana/Pictures/Photos',
      state: 'syncing',
      localFiles: 8_912,
      localBytes: 46.9e9,
      globalFiles: 9_126,
      globalBytes: 48.2e9,
      needFiles: 214,
      needBytes: 1.31e9,
      peersConnected: 2,
      inBytesPerSec: 11.8e6,
      outBytesPerSec: 0.42e6,
      pulling: [
        { path: '2025/03 Lisbon/IMG_4471.HEIC', size: 3.4e6, done: 2.9e6, bytesPerSec: 4.1e6, etaSec: 0.2 },
        { path: '2025/03 Lisbon/VID_4480.MOV', size: 412e6, done: 131e6, bytesPerSec: 6.2e6, etaSec: 46 },
        { path: '2025/03 Lisbon/IMG_4482.HEIC', size: 2.8e6, done: 0.4e6, bytesPerSec: 1.5e6, etaSec: 2 },
        { path: '2025/04 Garden/IMG_4510.HEIC', size: 3.1e6, done: 0, bytesPerSec: 0, etaSec: null },
      ],
    }),
    share({
      id: 'sh-work',
      name: 'Work documents',
      path: '/home/ana/Documents/Work',
      localFiles: 3_410,
      localBytes: 2.14e9,
      globalFiles: 3_410,
      globalBytes: 2.14e9,
      peersConnected: 3,
      outBytesPerSec: 0,
      conflicts: 2,
      errors: [{ path: 'drafts/Q1 plan?.docx', error: 'the name holds a character this file system cannot store (?)' }],
    }),
    share({
      id: 'sh-music',
      name: 'Music',
      path: '/home/ana/Music',
      access: 'read-only',
      state: 'paused',
      paused: true,
      localFiles: 12_044,
      localBytes: 81.3e9,
      globalFiles: 12_320,
      globalBytes: 83.0e9,
      needFiles: 276,
      needBytes: 1.7e9,
      peersConnected: 0,
    }),
    share({
      id: 'sh-backup',
      name: 'Server backup',
      path: '/mnt/external/peerfold-backup',
      access: 'encrypted',
      state: 'error',
      error: 'The folder /mnt/external/peerfold-backup is missing. Reconnect the drive, or remove this share.',
      localFiles: 1_208,
      localBytes: 12.6e9,
      globalFiles: 1_208,
      globalBytes: 12.6e9,
      lastScanAt: NOW - 26 * HOUR,
    }),
  ];
}

function samplePeers(): PeerInfo[] {
  const p = (over: Partial<PeerInfo> & Pick<PeerInfo, 'deviceId' | 'name'>): PeerInfo => ({
    shareIds: [],
    connected: true,
    connectedSince: NOW - 2 * HOUR,
    address: null,
    via: 'lan',
    transport: 'udx',
    inBytes: 0,
    outBytes: 0,
    inBytesPerSec: 0,
    outBytesPerSec: 0,
    ...over,
  });
  return [
    p({
      deviceId: DESKTOP,
      name: 'ana-desktop',
      shareIds: ['sh-photos', 'sh-work', 'sh-music'],
      address: '192.168.1.20:21120',
      via: 'lan',
      inBytes: 31.2e9,
      outBytes: 1.1e9,
      inBytesPerSec: 9.6e6,
      outBytesPerSec: 0.31e6,
    }),
    p({
      deviceId: PHONE,
      name: 'Pixel 8',
      shareIds: ['sh-photos'],
      address: '85.241.10.7:40312',
      via: 'internet',
      inBytes: 4.4e9,
      outBytes: 0.2e9,
      inBytesPerSec: 2.2e6,
      outBytesPerSec: 0.11e6,
    }),
    p({
      deviceId: NAS,
      name: 'home-nas',
      shareIds: ['sh-work', 'sh-backup'],
      address: 'relay.example.net:3478',
      via: 'relay',
      inBytes: 0.8e9,
      outBytes: 14.9e9,
    }),
    p({
      deviceId: OLDMAC,
      name: 'old-macbook',
      shareIds: ['sh-work'],
      connected: false,
      connectedSince: null,
      address: '10.0.0.31:21120',
      via: 'manual',
      inBytes: 0.3e9,
      outBytes: 0.1e9,
    }),
  ];
}

const meetingMine = `# Team meeting — 14 March

Attendees: Ana, Bruno, Chen, Dara

## Decisions
- Ship the beta on 28 March
- Keep the weekly demo on Thursdays
- Budget review moves to April

## Action items
- Ana: write the release notes
- Bruno: fix the login timeout
- Chen: update the onboarding screens
- Dara: book the venue for the offsite

## Notes
The customer interviews went well; three of five asked for offline mode.
`;
const meetingTheirs = `# Team meeting — 14 March

Attendees: Ana, Bruno, Chen, Dara, Eli

## Decisions
- Ship the beta on 4 April
- Keep the weekly demo on Thursdays
- Budget review moves to April

## Action items
- Ana: write the release notes
- Bruno: fix the login timeout and the password reset mail
- Chen: update the onboarding screens
- Dara: book the venue for the offsite

## Notes
The customer interviews went well; three of five asked for offline mode.
`;

function svgImage(bg: string, fg: string, label: string): string {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="300" viewBox="0 0 480 300"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${bg}"/><stop offset="1" stop-color="${fg}"/></linearGradient></defs><rect width="480" height="300" fill="url(#g)"/><circle cx="360" cy="90" r="42" fill="#fff" opacity=".85"/><path d="M0 300 L140 150 L230 240 L310 170 L480 300 Z" fill="#000" opacity=".28"/><text x="24" y="276" font-family="sans-serif" font-size="22" fill="#fff" opacity=".9">${label}</text></svg>`;
  return btoa(svg);
}

function sampleConflicts(): ConflictInfo[] {
  return [
    {
      shareId: 'sh-work',
      path: 'meetings/2025-03-14 team meeting.md',
      conflictPath: 'meetings/2025-03-14 team meeting.conflict-KQ3BXWE-20250314-101502.md',
      winner: { deviceId: ME, deviceName: 'ana-laptop', mtimeMs: NOW - 2 * HOUR, size: meetingMine.length, hash: 'a1' },
      loser: { deviceId: DESKTOP, deviceName: 'ana-desktop', mtimeMs: NOW - 2 * HOUR - 7 * 60_000, size: meetingTheirs.length, hash: 'b2' },
      createdAt: NOW - 90 * 60_000,
    },
    {
      shareId: 'sh-work',
      path: 'design/cover.png',
      conflictPath: 'design/cover.conflict-QWERT5Y-20250313-164011.png',
      winner: { deviceId: NAS, deviceName: 'home-nas', mtimeMs: NOW - 20 * HOUR, size: 1_284_112, hash: 'c3' },
      loser: { deviceId: ME, deviceName: 'ana-laptop', mtimeMs: NOW - 21 * HOUR, size: 1_190_540, hash: 'd4' },
      createdAt: NOW - 19 * HOUR,
    },
  ];
}

function sampleRecent(shareId: string): RecentChange[] {
  const rows: [string, RecentChange['action'], string, string, number][] = [
    ['meetings/2025-03-14 team meeting.md', 'modified', ME, 'ana-laptop', 2 * 60_000],
    ['reports/Q1 summary.pdf', 'added', DESKTOP, 'ana-desktop', 18 * 60_000],
    ['reports/Q1 draft.docx', 'deleted', DESKTOP, 'ana-desktop', 19 * 60_000],
    ['budget/2025.xlsx', 'modified', NAS, 'home-nas', 3 * HOUR],
    ['design/cover.png', 'modified', NAS, 'home-nas', 20 * HOUR],
    ['contracts/acme-renewal.pdf', 'added', ME, 'ana-laptop', 28 * HOUR],
    ['notes/ideas.txt', 'modified', ME, 'ana-laptop', 3 * 24 * HOUR],
  ];
  return rows.map(([path, action, deviceId, deviceName, ago]) => ({ shareId, path, action, deviceId, deviceName, at: NOW - ago }));
}

function sampleArchive(): ArchiveEntry[] {
  const rows: [string, ArchiveEntry['reason'], number, number][] = [
    ['reports/Q1 draft.docx', 'deleted', 19 * 60_000, 482_113],
    ['budget/2025.xlsx', 'replaced', 3 * HOUR, 96_520],
    ['meetings/2025-03-07 team meeting.md', 'conflict-resolved', 6 * 24 * HOUR, 1_422],
    ['design/logo-old.svg', 'deleted', 9 * 24 * HOUR, 12_044],
  ];
  return rows.map(([path, reason, ago, size]) => {
    const stamp = new Date(NOW - ago).toISOString().replace(/[-:]/g, '').slice(0, 15);
    return { path, archivedPath: `${path}~${stamp}`, archivedAt: NOW - ago, size, reason };
  });
}

function sampleFiles(): FileEntry[] {
  const f = (path: string, type: FileEntry['type'], size: number, agoH: number): FileEntry => ({
    path,
    type,
    size,
    mode: type === 'dir' ? 0o755 : 0o644,
    mtimeMs: NOW - agoH * HOUR,
    version: { [ME]: 3 },
    sequence: 1,
    deleted: false,
    chunks: Math.ceil(size / 65536),
    hash: type === 'file' ? 'ab'.repeat(32) : '',
    symlinkTarget: null,
    modifiedBy: ME,
  });
  return [
    f('budget', 'dir', 0, 3),
    f('budget/2025.xlsx', 'file', 98_411, 3),
    f('contracts', 'dir', 0, 28),
    f('contracts/acme-renewal.pdf', 'file', 1_204_332, 28),
    f('design', 'dir', 0, 20),
    f('design/cover.png', 'file', 1_284_112, 20),
    f('meetings', 'dir', 0, 2),
    f('meetings/2025-03-07 team meeting.md', 'file', 1_388, 150),
    f('meetings/2025-03-14 team meeting.md', 'file', 1_512, 2),
    f('notes', 'dir', 0, 72),
    f('notes/ideas.txt', 'file', 4_210, 72),
    f('reports', 'dir', 0, 1),
    f('reports/Q1 summary.pdf', 'file', 2_948_001, 0.3),
  ];
}

const tree: Record<string, string[]> = {
  '/home/ana': ['.cache', '.config', 'Desktop', 'Documents', 'Downloads', 'Music', 'Pictures', 'Projects', 'Videos'],
  '/home/ana/Documents': ['Taxes', 'Work', 'Recipes'],
  '/home/ana/Projects': ['garden-planner', 'peerfold-notes', 'thesis'],
  '/home/ana/Pictures': ['Photos', 'Screenshots', 'Wallpapers'],
};

export function createFakeBridge(opts: FakeOptions = {}): PeerfoldBridge & ConnectionAware {
  const capabilities: ShellCapabilities = {
    pickFolder: false,
    dropPaths: false,
    openPath: false,
    startAtLogin: false,
    ...opts.capabilities,
  };
  let shares = opts.empty
    ? []
    : sampleShares().map((s) => (s.id === 'sh-work' && opts.heldDeletes ? { ...s, heldDeletes: opts.heldDeletes } : s));
  const peers = opts.empty ? [] : samplePeers();
  let conflicts = opts.empty ? [] : sampleConflicts();
  let invites: InviteInfo[] = [];
  let paused = false;
  let ignore = '# Editor leftovers\n*.swp\n~$*\n.DS_Store\n\n# Build output\n/build/\nnode_modules/\n';
  let settings: Settings = {
    deviceName: 'ana-laptop',
    listenPort: 21120,
    lanDiscovery: true,
    maxSendKBps: 0,
    maxRecvKBps: 5000,
    archiveDays: 30,
    startAtLogin: true,
    trackers: ['wss://tracker.example.org'],
    stunServers: ['stun:stun.example.org:3478'],
    turnServers: [],
    lanOnly: false,
    limitLan: true,
  };
  const listeners = new Map<string, Set<(d: unknown) => void>>();
  const connListeners = new Set<(s: ConnectionState) => void>();
  let connection: ConnectionState = { phase: 'open', attempts: 0, retryAt: null, everOpened: true };
  let nextShare = 1;

  const status = (): StatusResult => ({
    device: { id: ME, name: settings.deviceName, listenPort: settings.listenPort, version: '0.1.0' },
    paused,
    shares,
    error: null,
    trackers: [],
  });
  const emit = <E extends EventName>(event: E, data: ApiEvents[E]) => listeners.get(event)?.forEach((l) => l(data));
  if (typeof window !== 'undefined') window.__peerfoldFakeEmit = emit;
  const codesFor = (s: ShareSummary): ShareCodes => {
    const seed = [...s.id].reduce((a, c) => a * 31 + c.charCodeAt(0), 7);
    return {
      readWrite: s.access === 'read-write' ? fakeCode('pfw', 37, seed) : null,
      readOnly: s.access !== 'encrypted' ? fakeCode('pfr', 56, seed + 1) : null,
      encrypted: fakeCode('pfe', 56, seed + 2),
    };
  };
  const find = (ref: string) => {
    const s = shares.find((x) => x.id === ref || x.path === ref);
    if (!s) throw { code: 'not-found', message: `no share "${ref}"` };
    return s;
  };

  const handlers: { [M in Method]: (p: Params<M>) => Result<M> } = {
    status: () => status(),
    share: ({ path, name }) => {
      const s = share({
        id: `sh-new-${nextShare++}`,
        name: name ?? path.split('/').filter(Boolean).pop() ?? path,
        path,
        state: 'scanning',
      });
      shares = [...shares, s];
      queueMicrotask(() => emit('status', status()));
      return { share: s, codes: codesFor(s) };
    },
    join: ({ path, name }) => {
      const s = share({
        id: `sh-new-${nextShare++}`,
        name: name ?? path.split('/').filter(Boolean).pop() ?? path,
        path,
        state: 'syncing',
        needFiles: 40,
        needBytes: 120e6,
        globalBytes: 120e6,
        globalFiles: 40,
      });
      shares = [...shares, s];
      queueMicrotask(() => emit('status', status()));
      return { share: s };
    },
    unshare: ({ share: ref }) => {
      const s = find(ref);
      shares = shares.filter((x) => x !== s);
      queueMicrotask(() => emit('status', status()));
      return { ok: true, removed: s.invite ? 'join' : 'share' };
    },
    codes: ({ share: ref }) => codesFor(find(ref)),
    checkCode: ({ code }) => {
      const c = code.trim().toLowerCase().replace(/\s+/g, '');
      const level = c.startsWith('pfw1') ? 'read-write' : c.startsWith('pfr1') ? 'read-only' : c.startsWith('pfe1') ? 'encrypted' : null;
      if (!level) return { ok: false, level: null, error: 'this is not a Peerfold code: codes start with pfw1, pfr1 or pfe1' };
      const want = level === 'read-write' ? 37 : 56;
      if (c.length !== want)
        return {
          ok: false,
          level: null,
          error: `a ${level} code has ${want} characters; this one has ${c.length}: one is missing or extra`,
        };
      if (c.includes('b')) return { ok: false, level: null, error: 'checksum mismatch: a character is mistyped' };
      return { ok: true, level, error: null };
    },
    files: ({ share: ref }) => (find(ref).id === 'sh-work' ? sampleFiles() : []),
    rescan: () => ({ ok: true }),
    pause: ({ share: ref }) => {
      if (ref) shares = shares.map((s) => (s.id === ref ? { ...s, paused: true, state: 'paused' } : s));
      else {
        paused = true;
        shares = shares.map((s) => ({ ...s, paused: true, state: 'paused' }));
      }
      queueMicrotask(() => emit('status', status()));
      return { ok: true };
    },
    resume: ({ share: ref }) => {
      const un = (s: ShareSummary): ShareSummary => ({ ...s, paused: false, state: s.needFiles ? 'syncing' : 'idle' });
      if (ref) shares = shares.map((s) => (s.id === ref ? un(s) : s));
      else {
        paused = false;
        shares = shares.map(un);
      }
      queueMicrotask(() => emit('status', status()));
      return { ok: true };
    },
    peers: () => peers,
    addPeer: ({ address }) => {
      if (!/^[\w.-]+:\d+$/.test(address)) throw { code: 'bad-request', message: `"${address}" is not HOST:PORT, e.g. 192.168.1.20:21120` };
      return { ok: true };
    },
    conflicts: ({ share: ref }) => (ref ? conflicts.filter((c) => c.shareId === ref) : conflicts),
    resolve: ({ share: ref, path }) => {
      conflicts = conflicts.filter((c) => !(c.shareId === find(ref).id && (c.path === path || c.conflictPath === path)));
      shares = shares.map((s) => ({ ...s, conflicts: conflicts.filter((c) => c.shareId === s.id).length }));
      queueMicrotask(() => emit('status', status()));
      return { ok: true };
    },
    preview: ({ path }): FilePreview => {
      if (path.endsWith('.md')) {
        const text = path.includes('conflict') ? meetingTheirs : meetingMine;
        return { path, size: text.length, kind: 'text', text, base64: null, mime: null, truncated: false };
      }
      if (path.endsWith('.png')) {
        const mine = path.includes('conflict');
        return {
          path,
          size: 1_200_000,
          kind: 'image',
          text: null,
          base64: mine ? svgImage('#ff9a62', '#d6456b', 'cover, warm') : svgImage('#4facfe', '#2f3ea8', 'cover, cool'),
          mime: 'image/svg+xml',
          truncated: false,
        };
      }
      return { path, size: 0, kind: 'binary', text: null, base64: null, mime: null, truncated: false };
    },
    archive: ({ share: ref }) => (find(ref).id === 'sh-work' ? sampleArchive() : []),
    restore: () => ({ ok: true }),
    invite: ({ share: ref, access }) => {
      const s = find(ref);
      const info: InviteInfo = {
        id: '5f3a9c21e07b44d8',
        shareId: s.id,
        code: fakeCode('pfi', 64, 99),
        access: access ?? s.access,
        expiresAt: Date.now() + 24 * HOUR,
        usesLeft: 1,
      };
      invites = [...invites, info];
      return info;
    },
    invites: ({ share: ref }) => invites.filter((i) => i.shareId === find(ref).id),
    revokeInvite: ({ id }) => {
      invites = invites.filter((i) => i.id !== id);
      return { ok: true };
    },
    confirmDeletes: ({ share: ref }) => {
      const n = find(ref).heldDeletes;
      shares = shares.map((s) => (s.id === ref ? { ...s, heldDeletes: 0, localFiles: s.localFiles - n } : s));
      queueMicrotask(() => emit('status', status()));
      return { deleted: n };
    },
    restoreDeletes: ({ share: ref }) => {
      const n = find(ref).heldDeletes;
      shares = shares.map((s) => (s.id === ref ? { ...s, heldDeletes: 0, state: 'syncing', needFiles: n } : s));
      queueMicrotask(() => emit('status', status()));
      return { restoring: n };
    },
    changes: () => [],
    revert: () => ({ reverted: 0 }),
    recent: ({ share: ref }) => (ref && find(ref).id !== 'sh-work' ? [] : sampleRecent('sh-work')),
    getIgnore: () => ({ text: ignore }),
    setIgnore: ({ text }) => {
      ignore = text;
      return { ok: true };
    },
    getSettings: () => settings,
    setSettings: (patch) => {
      settings = { ...settings, ...patch };
      queueMicrotask(() => emit('status', status()));
      return settings;
    },
    listDir: ({ path }): DirListing => {
      const p = path && path !== '/' ? path.replace(/\/+$/, '') : '/home/ana';
      const names = tree[p] ?? [];
      const parent = p === '/' ? null : p.slice(0, p.lastIndexOf('/')) || '/';
      return { path: p, parent, entries: names.map((name) => ({ name, path: `${p}/${name}`, isDir: true })) };
    },
    stop: () => ({ ok: true }),
  };

  const setConnection = (next: ConnectionState) => {
    connection = next;
    connListeners.forEach((l) => l(next));
  };
  if (opts.disconnectAfterMs !== undefined) {
    setTimeout(() => setConnection({ phase: 'closed', attempts: 3, retryAt: Date.now() + 8000, everOpened: true }), opts.disconnectAfterMs);
  }

  return {
    capabilities,
    async call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
      if (connection.phase !== 'open') return new Promise(() => {});
      await new Promise((r) => setTimeout(r, 15));
      try {
        return (handlers[method] as (p: Params<M>) => Result<M>)(params);
      } catch (err) {
        throw Object.assign(new Error((err as { message: string }).message), err);
      }
    },
    on<E extends EventName>(event: E, listener: (data: ApiEvents[E]) => void) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener as (d: unknown) => void);
      return () => set.delete(listener as (d: unknown) => void);
    },
    pickFolder: capabilities.pickFolder ? async () => '/home/ana/Projects/thesis' : undefined,
    pathForFile: capabilities.dropPaths ? () => '/home/ana/Desktop/dropped' : undefined,
    openPath: capabilities.openPath ? async () => {} : undefined,
    get connection() {
      return connection;
    },
    onConnection(l) {
      connListeners.add(l);
      return () => connListeners.delete(l);
    },
    reconnectNow() {},
  };
}

declare global {
  interface Window {
    __PEERFOLD_FAKE__?: FakeOptions;
    /** lets the screenshot script push an engine event */
    __peerfoldFakeEmit?: <E extends EventName>(event: E, data: ApiEvents[E]) => void;
  }
}

// Injected before the app's own script: take the place of Electron's preload.
if (typeof window !== 'undefined' && !window.peerfold) window.peerfold = createFakeBridge(window.__PEERFOLD_FAKE__ ?? {});
