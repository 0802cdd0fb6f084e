import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { formatRate, trayIconFile, trayMenu, trayState, traySummary, trayTooltip, trayView, TRAY_STATES } from './tray-model.ts';
import type { TrayMenuInput, TrayMenuItem } from './tray-model.ts';
import { openFolder } from './open-folder.ts';
import { share, status } from './test-fixtures.ts';

const running = (s = status([share()])) => ({ status: s, engineError: null });

test('state: idle when everything is in sync, and before the first status', () => {
  assert.equal(trayState(running()), 'idle');
  assert.equal(trayState({ status: null, engineError: null }), 'idle');
  assert.equal(trayState(running(status([]))), 'idle');
});

test('state: syncing while a share scans or syncs, unless that share is paused', () => {
  assert.equal(trayState(running(status([share(), share({ id: 'b', state: 'syncing' })]))), 'syncing');
  assert.equal(trayState(running(status([share({ state: 'scanning' })]))), 'syncing');
  assert.equal(trayState(running(status([share({ state: 'syncing', paused: true }), share({ id: 'b' })]))), 'idle');
});

test('state: paused when the global switch is off or every share is paused', () => {
  assert.equal(trayState(running(status([share({ state: 'syncing' })], { paused: true }))), 'paused');
  assert.equal(trayState(running(status([share({ paused: true, state: 'paused' }), share({ id: 'b', state: 'paused' })]))), 'paused');
  assert.equal(trayState(running(status([share({ paused: true, state: 'paused' }), share({ id: 'b', state: 'syncing' })]))), 'syncing');
});

test('state precedence: error > conflicts > paused > syncing > idle', () => {
  const syncing = share({ id: 's', state: 'syncing' });
  const conflicted = share({ id: 'c', conflicts: 2 });
  const broken = share({ id: 'e', state: 'error', error: 'folder is missing' });
  assert.equal(trayState(running(status([syncing, conflicted, broken], { paused: true }))), 'error');
  assert.equal(trayState(running(status([syncing, conflicted], { paused: true }))), 'conflicts');
  assert.equal(trayState(running(status([syncing], { paused: true }))), 'paused');
  assert.equal(trayState(running(status([syncing]))), 'syncing');
  // an engine that failed to start wins over everything, including having no status at all
  assert.equal(trayState({ status: null, engineError: 'database is locked' }), 'error');
  assert.equal(trayState({ status: status([syncing]), engineError: 'crashed' }), 'error');
});

test('state: a share-level error counts even if the state field lags behind', () => {
  assert.equal(trayState(running(status([share({ error: 'marker missing' })]))), 'error');
  // per-path problems are not a tray error: sync goes on for everything else
  assert.equal(trayState(running(status([share({ errors: [{ path: 'a', error: 'EACCES' }] })]))), 'idle');
});

test('summary: the one-line texts', () => {
  assert.equal(traySummary(running()), 'Up to date');
  assert.equal(traySummary(running(status([]))), 'No shared folders yet');
  assert.equal(traySummary({ status: null, engineError: null }), 'Starting…');
  assert.equal(
    traySummary(
      running(
        status([
          share({ state: 'syncing', needFiles: 2, inBytesPerSec: 7_000_000 }),
          share({ id: 'b', state: 'syncing', needFiles: 1, inBytesPerSec: 5_400_000 }),
        ]),
      ),
    ),
    'Syncing 3 files, 12 MB/s',
  );
  assert.equal(traySummary(running(status([share({ state: 'syncing', needFiles: 1 })]))), 'Syncing 1 file');
  assert.equal(traySummary(running(status([share({ state: 'syncing' })]))), 'Syncing');
  assert.equal(traySummary(running(status([share({ state: 'scanning' })]))), 'Scanning Photos');
  assert.equal(traySummary(running(status([share({ state: 'scanning' }), share({ id: 'b', state: 'scanning' })]))), 'Scanning 2 folders');
  assert.equal(traySummary(running(status([share()], { paused: true }))), 'Paused');
  assert.equal(traySummary(running(status([share({ conflicts: 1 })]))), '1 conflict waiting');
  assert.equal(traySummary(running(status([share({ conflicts: 1 }), share({ id: 'b', conflicts: 1 })]))), '2 conflicts waiting');
  assert.equal(traySummary(running(status([share({ error: 'folder is missing' })]))), 'Error: Photos: folder is missing');
  assert.equal(
    traySummary(running(status([share({ state: 'error', error: null }), share({ id: 'b', name: 'Docs', error: 'x' })]))),
    'Error: Photos: sync stopped (and 1 more)',
  );
  assert.equal(traySummary({ status: null, engineError: 'port 21120 is in use' }), 'Error: port 21120 is in use');
  assert.equal(traySummary(running(status([share({ needFiles: 4, peersConnected: 0 })]))), 'Waiting for a peer (4 files to get)');
  assert.equal(traySummary(running(status([share({ needFiles: 1, peersConnected: 2 })]))), '1 file waiting');
  assert.equal(traySummary(running(status([share({ needFiles: 1, paused: true }), share({ id: 'b' })]))), 'Up to date');
  assert.equal(trayTooltip(running()), 'Peerfold: Up to date');
});

test('formatRate: readable units without a "1000 KB/s"', () => {
  assert.equal(formatRate(0), '0 B/s');
  assert.equal(formatRate(999), '999 B/s');
  assert.equal(formatRate(1500), '1.5 KB/s');
  assert.equal(formatRate(12_400_000), '12 MB/s');
  assert.equal(formatRate(2_000_000), '2 MB/s');
  assert.equal(formatRate(999_600), '1 MB/s');
  assert.equal(formatRate(3.25e9), '3.3 GB/s');
  assert.equal(formatRate(-5), '0 B/s');
});

test('icon: a distinct file per state; Linux gets the larger one', () => {
  const files = TRAY_STATES.map((s) => trayIconFile(s, { platform: 'win32' }));
  assert.equal(new Set(files).size, TRAY_STATES.length);
  assert.equal(trayIconFile('syncing', { platform: 'darwin' }), 'tray/tray-syncing.png');
  assert.equal(trayIconFile('error', { platform: 'linux' }), 'tray/tray-error-32.png');
});

test('icon: every file the model names exists in assets/, with its @2x twin', () => {
  const assets = new URL('../../assets/', import.meta.url).pathname;
  for (const platform of ['linux', 'win32', 'darwin'] as const) {
    for (const state of TRAY_STATES) {
      const file = trayIconFile(state, { platform });
      assert.ok(existsSync(assets + file), file);
      if (platform !== 'linux') assert.ok(existsSync(assets + file.replace(/\.png$/, '@2x.png')), `${file} @2x`);
    }
  }
});

const menuInput = (over: Partial<TrayMenuInput> = {}): TrayMenuInput => ({
  ...running(),
  startAtLogin: false,
  canStartAtLogin: true,
  folders: new Map([['/home/ann/Photos', 'folder']]),
  ...over,
});
const labels = (items: TrayMenuItem[]) => items.map((i) => (i.kind === 'separator' ? '-' : i.label));
const find = (items: TrayMenuItem[], label: string) => items.find((i) => i.kind !== 'separator' && i.label === label);

test('menu: the items in order, starting with the summary', () => {
  assert.deepEqual(labels(trayMenu(menuInput())), [
    'Up to date',
    '-',
    'Open Peerfold',
    'Open “Photos”',
    '-',
    'Share a folder…',
    'Join with a code…',
    '-',
    'Pause all',
    'Start at login',
    '-',
    'Quit',
  ]);
});

test('menu: Pause all / Resume all follows the state', () => {
  assert.deepEqual(find(trayMenu(menuInput()), 'Pause all'), { kind: 'action', action: 'pause-all', label: 'Pause all', enabled: true });
  const paused = trayMenu(menuInput({ status: status([share()], { paused: true }) }));
  assert.equal(find(paused, 'Pause all'), undefined);
  assert.deepEqual(find(paused, 'Resume all'), { kind: 'action', action: 'resume-all', label: 'Resume all', enabled: true });
  // every share paused one by one is also "paused": offer to resume them
  assert.equal(find(trayMenu(menuInput({ status: status([share({ paused: true })]) })), 'Resume all')?.kind, 'action');
  // nothing to pause without shares
  assert.deepEqual(find(trayMenu(menuInput({ status: status([]) })), 'Pause all'), {
    kind: 'action',
    action: 'pause-all',
    label: 'Pause all',
    enabled: false,
  });
});

test('menu: Start at login is a checkbox, left out where unsupported', () => {
  assert.deepEqual(find(trayMenu(menuInput({ startAtLogin: true })), 'Start at login'), {
    kind: 'checkbox',
    action: 'toggle-start-at-login',
    label: 'Start at login',
    checked: true,
    enabled: true,
  });
  assert.equal(find(trayMenu(menuInput({ canStartAtLogin: false })), 'Start at login'), undefined);
});

test('menu: without a running engine only Open and Quit work', () => {
  for (const input of [menuInput({ status: null }), menuInput({ engineError: 'boom' })]) {
    const enabled = trayMenu(input).flatMap((i) => ((i.kind === 'action' || i.kind === 'checkbox') && i.enabled ? [i.action] : []));
    assert.deepEqual(enabled, ['open', 'quit']);
  }
});

test('view: state, icon, tooltip and menu agree', () => {
  const v = trayView(menuInput({ status: status([share({ conflicts: 3 })]) }), 'linux');
  assert.equal(v.state, 'conflicts');
  assert.equal(v.icon, 'tray/tray-conflicts-32.png');
  assert.equal(v.tooltip, 'Peerfold: 3 conflicts waiting');
  assert.deepEqual(v.menu[0], { kind: 'status', label: '3 conflicts waiting' });
});

test('menu: a share whose folder is there opens it, even while its join waits for the invite issuer', () => {
  const waiting = share({
    id: 'invite-01',
    name: 'Inbox',
    path: '/home/ann/Inbox',
    state: 'waiting-for-issuer',
    invite: { issuer: 'X', expiresAt: 1 },
  });
  const items = trayMenu(
    menuInput({
      status: status([share(), waiting]),
      folders: new Map([
        ['/home/ann/Photos', 'folder'],
        ['/home/ann/Inbox', 'folder'],
      ]),
    }),
  );
  assert.deepEqual(find(items, 'Open “Inbox”'), { kind: 'folder', path: '/home/ann/Inbox', label: 'Open “Inbox”', enabled: true });
});

test('menu: a waiting join whose folder is not made yet is greyed out and says why; so is a missing folder', () => {
  const waiting = share({
    id: 'invite-01',
    name: 'Inbox',
    path: '/home/ann/Inbox',
    state: 'waiting-for-issuer',
    invite: { issuer: 'X', expiresAt: 1 },
  });
  const gone = share({ id: 'g', name: 'Gone', path: '/mnt/usb/Gone', state: 'error', error: 'the folder is missing' });
  const items = trayMenu(menuInput({ status: status([share(), waiting, gone]) }));
  const folders = items.filter((i) => i.kind === 'folder');
  assert.deepEqual(
    folders.map((i) => [i.label, i.enabled]),
    [
      ['“Gone”: its folder is missing (a deleted folder or an unmounted drive?)', false],
      ['“Inbox”: the folder is made once the invite is granted', false],
      ['Open “Photos”', true],
    ],
  );
});

test('open folder: only a folder opens; a file in its place or nothing at all says why', () => {
  const s = share();
  assert.deepEqual(openFolder(s, 'folder'), { enabled: true, path: '/home/ann/Photos' });
  assert.deepEqual(openFolder(s, 'file'), { enabled: false, reason: 'a file is where its folder should be' });
  assert.match(
    (openFolder({ ...s, invite: { issuer: 'X', expiresAt: 1 } }, 'missing') as { reason: string }).reason,
    /once the invite is granted/,
  );
});

test('menu: at most TRAY_FOLDERS_MAX folders, by name', () => {
  const many = Array.from({ length: 12 }, (_, i) => share({ id: `s${i}`, name: `F${String(i).padStart(2, '0')}`, path: `/f/${i}` }));
  const items = trayMenu(menuInput({ status: status(many.reverse()), folders: new Map(many.map((s) => [s.path, 'folder'])) }));
  const labels = items.filter((i) => i.kind === 'folder').map((i) => (i.kind === 'folder' ? i.label : ''));
  assert.equal(labels.length, 8);
  assert.equal(labels[0], 'Open “F00”');
});
