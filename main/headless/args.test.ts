import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, shareArg, UsageError, type ParseContext } from './args.ts';

const ctx: ParseContext = { cwd: '/work/here', isDir: (p) => p === '/work/here/Photos' };
const parse = (s: string) => parseArgs(s.split(' ').filter(Boolean), ctx);

function usage(s: string, message: RegExp, usageLine?: RegExp): void {
  assert.throws(
    () => parse(s),
    (err: unknown) => {
      assert.ok(err instanceof UsageError, `expected UsageError for "${s}", got ${String(err)}`);
      assert.match(err.message, message);
      if (usageLine) assert.match(err.usage, usageLine);
      return true;
    },
  );
}

test('global options go anywhere; --json and --home are picked up', () => {
  assert.deepEqual(parse('--home /h status --json'), {
    kind: 'call',
    home: '/h',
    json: true,
    command: 'status',
    method: 'status',
    params: {},
  });
  assert.deepEqual(parse('status --home=/h'), { kind: 'call', home: '/h', json: false, command: 'status', method: 'status', params: {} });
  assert.deepEqual(parse('shares'), { kind: 'call', home: undefined, json: false, command: 'shares', method: 'status', params: {} });
});

test('share and join make folders absolute against the cwd', () => {
  const r = parse('share docs --name Docs');
  assert.equal(r.kind, 'call');
  assert.deepEqual(r.kind === 'call' && r.params, { path: '/work/here/docs', name: 'Docs' });
  const j = parse('join PFRW-ABCD ../elsewhere');
  assert.deepEqual(j.kind === 'call' && [j.method, j.params], ['join', { code: 'PFRW-ABCD', path: '/work/elsewhere' }]);
  const abs = parse('share /data/x');
  assert.deepEqual(abs.kind === 'call' && abs.params, { path: '/data/x' });
});

test('SHARE is a path when it reads as one or names a folder here, else an id', () => {
  assert.equal(shareArg('abc123', ctx), 'abc123');
  assert.equal(shareArg('Photos', ctx), '/work/here/Photos');
  assert.equal(shareArg('./x', ctx), '/work/here/x');
  assert.equal(shareArg('.', ctx), '/work/here');
  assert.equal(shareArg('/abs/path/', ctx), '/abs/path');
  const r = parse('files abc123 --path sub/dir');
  assert.deepEqual(r.kind === 'call' && [r.method, r.params], ['files', { share: 'abc123', path: 'sub/dir' }]);
});

test('each command maps to one API call', () => {
  const m = (s: string) => {
    const r = parse(s);
    assert.equal(r.kind, 'call');
    return r.kind === 'call' ? [r.command, r.method, r.params] : null;
  };
  assert.deepEqual(m('id'), ['id', 'status', {}]);
  assert.deepEqual(m('unshare s1'), ['unshare', 'unshare', { share: 's1' }]);
  assert.deepEqual(m('status s1'), ['status', 'status', { share: 's1' }]);
  assert.deepEqual(m('rescan'), ['rescan', 'rescan', {}]);
  assert.deepEqual(m('pause s1'), ['pause', 'pause', { share: 's1' }]);
  assert.deepEqual(m('resume'), ['resume', 'resume', {}]);
  assert.deepEqual(m('stop'), ['stop', 'stop', {}]);
  assert.deepEqual(m('codes s1'), ['codes', 'codes', { share: 's1' }]);
  assert.deepEqual(m('peers'), ['peers', 'peers', {}]);
  assert.deepEqual(m('peer add s1 10.0.0.2:21120'), ['peer add', 'addPeer', { share: 's1', address: '10.0.0.2:21120' }]);
  assert.deepEqual(m('conflicts s1'), ['conflicts', 'conflicts', { share: 's1' }]);
  assert.deepEqual(m('confirm-deletes s1'), ['confirm-deletes', 'confirmDeletes', { share: 's1' }]);
  assert.deepEqual(m('restore-deletes s1'), ['restore-deletes', 'restoreDeletes', { share: 's1' }]);
  assert.deepEqual(m('resolve s1 a/b.txt --keep remote'), ['resolve', 'resolve', { share: 's1', path: 'a/b.txt', keep: 'remote' }]);
  assert.deepEqual(m('settings'), ['settings', 'getSettings', {}]);
});

test('settings KEY VALUE parses the value by the key type', () => {
  const v = (s: string) => {
    const r = parse(s);
    return r.kind === 'call' ? [r.method, r.params] : null;
  };
  assert.deepEqual(v('settings listenPort 22000'), ['setSettings', { listenPort: 22000 }]);
  assert.deepEqual(v('settings lanDiscovery off'), ['setSettings', { lanDiscovery: false }]);
  assert.deepEqual(v('settings startAtLogin true'), ['setSettings', { startAtLogin: true }]);
  assert.deepEqual(v('settings deviceName nas'), ['setSettings', { deviceName: 'nas' }]);
  usage('settings listenPort 70000', /expected a port number from 0 to 65535/, /settings \[KEY VALUE\]/);
  usage('settings listenPort abc', /whole number/);
  usage('settings lanDiscovery maybe', /true or false/);
  usage('settings colour blue', /unknown setting "colour"; settings are deviceName, listenPort/);
  usage('settings deviceName', /needs a value/);
});

test('daemon flags: ports 0..65535', () => {
  assert.deepEqual(parse('daemon --home /h --listen 0 --ui-port 8080'), { kind: 'daemon', home: '/h', listenPort: 0, uiPort: 8080 });
  assert.deepEqual(parse('daemon'), { kind: 'daemon', home: undefined, listenPort: undefined, uiPort: undefined });
  usage('daemon --listen 99999', /--listen takes a port number/, /^peerfold daemon/);
  usage('daemon --ui-port -1', /--ui-port takes a port number/);
  usage('daemon --ui-port', /--ui-port needs a value/);
  usage('daemon extra', /takes no arguments/);
  usage('daemon --json', /does not take --json/);
  usage('daemon --name x', /unknown option --name here/);
});

test('bad usage: unknown commands and options, wrong argument counts', () => {
  usage('', /no command given/, /peerfold \[--home DIR\] COMMAND/);
  usage('frobnicate', /unknown command "frobnicate"/);
  usage('share', /share needs 1 argument/, /^peerfold share PATH \[--name NAME\]$/);
  usage('share a b', /takes at most 1 \(got "b"\)/);
  usage('status a b', /at most 1/);
  usage('id extra', /takes no arguments/);
  usage('share x --force', /unknown option --force/);
  usage('share x -f', /unknown option -f/);
  usage('status --name x', /unknown option --name here/);
  usage('share x --name', /--name needs a value/);
  usage('share x --name a --name b', /given twice/);
  usage('resolve s p', /needs --keep/);
  usage('resolve s p --keep mine', /--keep takes local, remote or both/);
  usage('peer', /peer needs a subcommand/, /peer add SHARE HOST:PORT/);
  usage('peer remove s x', /unknown peer subcommand "remove"/);
  usage('peer add s', /needs 2 arguments/);
  usage('--home= status', /--home needs a folder/);
});

test('values are validated like the API does it, as usage errors', () => {
  assert.throws(
    () => parseArgs(['share', '/x', '--name', 'n'.repeat(300)], ctx),
    (e: unknown) => e instanceof UsageError && /too long/.test(e.message),
  );
  assert.throws(
    () => parseArgs(['files', 's', '--path', ''], ctx),
    (e: unknown) => e instanceof UsageError && /empty string/.test(e.message),
  );
});

test('-- ends options, help anywhere prints help', () => {
  const r = parseArgs(['share', '--', '--weird-name'], ctx);
  assert.deepEqual(r.kind === 'call' && r.params, { path: '/work/here/--weird-name' });
  const h = parse('help');
  assert.equal(h.kind, 'help');
  assert.match(h.kind === 'help' ? h.text : '', /exit codes: 0 success, 1 failure/);
  const hs = parse('share --help');
  assert.deepEqual(hs.kind === 'help' && hs.text.split('\n')[0], 'usage: peerfold share PATH [--name NAME]');
  assert.equal(parse('--help').kind, 'help');
});

test('settings of internet servers: a list is one comma-separated value, checked with a clear error; "" or none empties it', () => {
  const v = (argv: string[]) => {
    const r = parseArgs(argv, ctx);
    return r.kind === 'call' ? [r.method, r.params] : null;
  };
  assert.deepEqual(v(['settings', 'trackers', 'wss://t1.example.org, ws://10.0.0.5:8000']), [
    'setSettings',
    { trackers: ['wss://t1.example.org', 'ws://10.0.0.5:8000'] },
  ]);
  assert.deepEqual(v(['settings', 'trackers', '']), ['setSettings', { trackers: [] }]);
  assert.deepEqual(v(['settings', 'stunServers', 'none']), ['setSettings', { stunServers: [] }]);
  assert.deepEqual(v(['settings', 'stunServers', 'stun:stun.example.org:3478']), [
    'setSettings',
    { stunServers: ['stun:stun.example.org:3478'] },
  ]);
  assert.deepEqual(v(['settings', 'turnServers', 'turn:1700000000:alice:s3cret@turn.example.org:3478?transport=tcp']), [
    'setSettings',
    { turnServers: ['turn:1700000000:alice:s3cret@turn.example.org:3478?transport=tcp'] },
  ]);
  assert.deepEqual(v(['settings', 'lanOnly', 'on']), ['setSettings', { lanOnly: true }]);
  assert.deepEqual(v(['settings', 'limitLan', 'off']), ['setSettings', { limitLan: false }]);
  const bad = (argv: string[], message: RegExp) =>
    assert.throws(
      () => parseArgs(argv, ctx),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
    );
  bad(['settings', 'trackers', 'http://tracker.example.org'], /starts with ws:\/\/ or wss:\/\//);
  bad(['settings', 'trackers', 'wss://ok.example.org,udp://x.example.org:80'], /ws:\/\/ or wss:\/\//);
  bad(['settings', 'stunServers', 'stun.example.org:3478'], /stun:HOST:PORT/);
  bad(['settings', 'stunServers', 'stun:example.org:99999'], /stun:HOST:PORT/);
  bad(['settings', 'turnServers', 'turn:turn.example.org:3478'], /needs a user name and password/);
  bad(['settings', 'turnServers', 'turn:u:p@turn.example.org:3478?transport=sctp'], /transport=udp or transport=tcp/);
  bad(['settings', 'lanOnly', 'perhaps'], /true or false/);
});
