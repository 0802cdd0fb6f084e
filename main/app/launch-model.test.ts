import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loginCommand, loginItemPlan, parseAppArgs, quoteExecArg, showWindowAtStart, xdgAutostartEntry } from './launch-model.ts';
import type { LaunchContext } from './launch-model.ts';

test('parseAppArgs: flags anywhere, both --home forms', () => {
  assert.deepEqual(parseAppArgs(['/opt/Peerfold/peerfold']), { home: undefined, hidden: false });
  assert.deepEqual(parseAppArgs(['electron', '.', '--hidden', '--home', '/tmp/h']), { home: '/tmp/h', hidden: true });
  assert.deepEqual(parseAppArgs(['x', '--no-sandbox', '--home=/data/pf']), { home: '/data/pf', hidden: false });
  // a dangling or empty --home is ignored rather than eating the next flag
  assert.deepEqual(parseAppArgs(['x', '--home', '--hidden']), { home: undefined, hidden: true });
  assert.deepEqual(parseAppArgs(['x', '--home=']), { home: undefined, hidden: false });
});

test('the window shows at start unless started hidden', () => {
  assert.equal(showWindowAtStart({ home: undefined, hidden: false }, false), true);
  assert.equal(showWindowAtStart({ home: undefined, hidden: true }, false), false);
  assert.equal(showWindowAtStart({ home: undefined, hidden: false }, true), false);
});

const ctx = (over: Partial<LaunchContext> = {}): LaunchContext => ({
  platform: 'linux',
  execPath: '/opt/Peerfold/peerfold',
  appArgs: [],
  env: {},
  homeDir: '/home/ann',
  home: undefined,
  ...over,
});

test('login command: same program, hidden, same home; AppImages start the image', () => {
  assert.deepEqual(loginCommand(ctx()), { exec: '/opt/Peerfold/peerfold', args: ['--hidden'] });
  assert.deepEqual(loginCommand(ctx({ home: '/data/pf', appArgs: ['/src/peerfold'] })), {
    exec: '/opt/Peerfold/peerfold',
    args: ['/src/peerfold', '--hidden', '--home', '/data/pf'],
  });
  assert.deepEqual(loginCommand(ctx({ env: { APPIMAGE: '/home/ann/Apps/Peerfold.AppImage' }, execPath: '/tmp/.mount_Peer/peerfold' })), {
    exec: '/home/ann/Apps/Peerfold.AppImage',
    args: ['--hidden'],
  });
});

test('login item: Electron API on macOS and Windows', () => {
  assert.deepEqual(loginItemPlan(true, ctx({ platform: 'darwin' })), { kind: 'electron', settings: { openAtLogin: true } });
  assert.deepEqual(loginItemPlan(true, ctx({ platform: 'win32', execPath: 'C:\\Peerfold\\Peerfold.exe' })), {
    kind: 'electron',
    settings: { openAtLogin: true, path: 'C:\\Peerfold\\Peerfold.exe', args: ['--hidden'] },
  });
  assert.deepEqual(loginItemPlan(false, ctx({ platform: 'win32' })).kind, 'electron');
});

test('login item: an XDG autostart file on Linux, removed when disabled', () => {
  const on = loginItemPlan(true, ctx());
  assert.equal(on.kind, 'xdg');
  assert.equal(on.kind === 'xdg' && on.file, '/home/ann/.config/autostart/peerfold.desktop');
  assert.match(on.kind === 'xdg' ? (on.content ?? '') : '', /^Exec=\/opt\/Peerfold\/peerfold --hidden$/m);
  assert.deepEqual(loginItemPlan(false, ctx({ env: { XDG_CONFIG_HOME: '/cfg' } })), {
    kind: 'xdg',
    file: '/cfg/autostart/peerfold.desktop',
    content: null,
  });
  // a relative XDG_CONFIG_HOME is invalid per the spec and ignored
  const rel = loginItemPlan(false, ctx({ env: { XDG_CONFIG_HOME: 'cfg' } }));
  assert.equal(rel.kind === 'xdg' && rel.file, '/home/ann/.config/autostart/peerfold.desktop');
});

test('desktop entry: well-formed, with Exec quoting per the spec', () => {
  const entry = xdgAutostartEntry(['/opt/My Apps/peerfold', '--hidden']);
  assert.ok(entry.startsWith('[Desktop Entry]\nType=Application\n'));
  assert.match(entry, /^Exec="\/opt\/My Apps\/peerfold" --hidden$/m);
  assert.equal(quoteExecArg('plain-arg'), 'plain-arg');
  assert.equal(quoteExecArg(''), '""');
  assert.equal(quoteExecArg('a"b'), '"a\\\\"b"');
  assert.equal(quoteExecArg('$HOME'), '"\\\\$HOME"');
  assert.equal(quoteExecArg('50%'), '50%%');
  assert.equal(quoteExecArg('C:\\x y'), '"C:\\\\\\\\x y"');
});
