import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import {
  APP_ORIGIN,
  CONTENT_SECURITY_POLICY,
  appEntryUrl,
  appResponseHeaders,
  contentTypeFor,
  isAppUrl,
  navigationAllowed,
  permissionAllowed,
  resolveAppRequest,
  safeRoute,
  secureWebPreferences,
  windowOpenDecision,
} from './window-policy.ts';

const root = resolve('/opt/Peerfold/resources/app.asar/dist/renderer');

test('entry URL on our own scheme, with an optional hash route', () => {
  assert.equal(APP_ORIGIN, 'peerfold://app');
  assert.equal(appEntryUrl(), 'peerfold://app/index.html');
  assert.equal(appEntryUrl('#/conflicts'), 'peerfold://app/index.html#/conflicts');
  assert.equal(appEntryUrl('/join'), 'peerfold://app/index.html#/join');
});

test('routes are plain hash paths; anything else falls back to the start page', () => {
  assert.equal(safeRoute('#/shares/abc%20d'), '#/shares/abc%20d');
  assert.equal(safeRoute('/conflicts'), '#/conflicts');
  for (const r of ['#/x"+alert(1)+"', "#/'", '#/a b', 'javascript:x', '#x', '#/<b>']) assert.equal(safeRoute(r), '#/', r);
});

test('requests map to files inside the renderer folder', () => {
  assert.equal(resolveAppRequest('peerfold://app/', root), join(root, 'index.html'));
  assert.equal(resolveAppRequest('peerfold://app/index.html#/x', root), join(root, 'index.html'));
  assert.equal(resolveAppRequest('peerfold://app/assets/index-abc.js?v=1', root), join(root, 'assets', 'index-abc.js'));
  assert.equal(resolveAppRequest('peerfold://app/assets/my%20font.woff2', root), join(root, 'assets', 'my font.woff2'));
});

test('nothing outside the renderer folder is reachable', () => {
  // the URL parser already folds plain dot segments; what is left must stay inside
  for (const url of ['peerfold://app/../../secret', 'peerfold://app/%2e%2e/%2e%2e/etc/passwd', 'peerfold://app/a/./../b']) {
    const file = resolveAppRequest(url, root);
    assert.ok(file === null || file.startsWith(root + '/'), `${url} -> ${file}`);
  }
  for (const url of [
    'peerfold://app/assets/..%2f..%2f..%2fetc/passwd',
    'peerfold://app/assets/%2e%2e%2f%2e%2e%2fsecret',
    'peerfold://app/..%5c..%5cwindows',
    'peerfold://app/a%00.html',
    'peerfold://app/%E0%A4%A',
    'peerfold://other/index.html',
    'file:///etc/passwd',
    'https://app/index.html',
    'not a url',
  ]) {
    assert.equal(resolveAppRequest(url, root), null, url);
  }
});

test('content types: module scripts must be served as JavaScript', () => {
  assert.equal(contentTypeFor('a/index-x.js'), 'text/javascript; charset=utf-8');
  assert.equal(contentTypeFor('index.HTML'), 'text/html; charset=utf-8');
  assert.equal(contentTypeFor('x.wasm'), 'application/wasm');
  assert.equal(contentTypeFor('noext'), 'application/octet-stream');
  const h = appResponseHeaders('index.html');
  assert.equal(h['Content-Security-Policy'], CONTENT_SECURITY_POLICY);
  assert.equal(h['X-Content-Type-Options'], 'nosniff');
});

test('CSP is strict: no inline or eval script, nothing remote, no framing', () => {
  const directives = new Map(
    CONTENT_SECURITY_POLICY.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name!, values];
    }),
  );
  assert.deepEqual(directives.get('default-src'), ["'none'"]);
  assert.deepEqual(directives.get('script-src'), ["'self'"]);
  assert.deepEqual(directives.get('object-src'), ["'none'"]);
  assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
  assert.deepEqual(directives.get('base-uri'), ["'none'"]);
  for (const values of directives.values()) {
    for (const v of values) {
      assert.ok(!/unsafe-|^https?:|^\*$|^ws/.test(v), `CSP allows ${v}`);
    }
  }
});

test('navigation stays on our own pages', () => {
  assert.equal(navigationAllowed('peerfold://app/index.html#/shares'), true);
  for (const url of [
    'https://example.com',
    'file:///home/ann/Photos',
    'peerfold://evil/index.html',
    'javascript:alert(1)',
    'data:text/html,x',
    '',
  ]) {
    assert.equal(navigationAllowed(url), false, url);
    assert.equal(isAppUrl(url), false, url);
  }
});

test('window.open never opens a window; https links go to the browser', () => {
  assert.equal(windowOpenDecision('https://peerfold.example/help'), 'external');
  for (const url of [
    'http://example.com',
    'file:///etc/passwd',
    'peerfold://app/index.html',
    'javascript:x',
    'smb://nas/share',
    'garbage',
  ]) {
    assert.equal(windowOpenDecision(url), 'deny', url);
  }
});

test('permissions: only clipboard writes, only from our pages', () => {
  assert.equal(permissionAllowed('clipboard-sanitized-write', 'peerfold://app/index.html'), true);
  assert.equal(permissionAllowed('clipboard-sanitized-write', 'https://evil.example'), false);
  for (const p of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read', 'fileSystem']) {
    assert.equal(permissionAllowed(p, 'peerfold://app/index.html'), false, p);
  }
});

test('web preferences: isolation and sandbox on, node off', () => {
  const w = secureWebPreferences('/x/preload.cjs', { devTools: false });
  assert.equal(w.contextIsolation, true);
  assert.equal(w.sandbox, true);
  assert.equal(w.nodeIntegration, false);
  assert.equal(w.webSecurity, true);
  assert.equal(w.webviewTag, false);
  assert.equal(w.navigateOnDragDrop, false);
  assert.equal(w.preload, '/x/preload.cjs');
});
