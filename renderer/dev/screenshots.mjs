// DEVELOPMENT ONLY: builds the renderer, serves it, injects the fake bridge (renderer/dev/fake-bridge.ts)
// as window.peerfold, and screenshots every view in light and dark with Debian's Chromium.
//   node renderer/dev/screenshots.mjs [name-filter]
// Output: e2e/screenshots/renderer-<view>-<theme>.png (git-ignored). Not a test of the engine.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { chromium } from 'playwright-core';

const root = new URL('../..', import.meta.url).pathname;
const outDir = join(root, 'e2e/screenshots');
const dist = join(root, 'dist/renderer');
const filter = process.argv[2] ?? '';

if (!process.env.SKIP_BUILD) {
  const r = spawnSync(
    process.execPath,
    [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'warn'],
    { cwd: root, stdio: 'inherit' },
  );
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const fake = await build({
  entryPoints: [join(root, 'renderer/dev/fake-bridge.ts')],
  bundle: true,
  format: 'iife',
  write: false,
  target: 'es2022',
  logLevel: 'warning',
});
const fakeJs = fake.outputFiles[0].text;

const types = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
  '.png': 'image/png',
};
const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const rel = normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, '');
  let file = join(dist, rel === '/' ? 'index.html' : rel);
  if (!file.startsWith(dist) || !existsSync(file)) file = join(dist, 'index.html');
  res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
  res.end(readFileSync(file));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}/`;

const electronCaps = { pickFolder: true, dropPaths: true, openPath: true, startAtLogin: true };

/** name, hash route, fake options, something to wait for, optional step before the shot */
const shots = [
  { name: 'shares', hash: '#/shares', wait: '[data-testid=share-row]' },
  { name: 'shares-empty', hash: '#/shares', fake: { empty: true }, wait: '[data-testid=shares-empty]' },
  { name: 'shares-electron', hash: '#/shares', fake: { capabilities: electronCaps }, wait: '[data-testid=drop-zone]' },
  {
    name: 'share-dialog',
    hash: '#/shares/new',
    wait: '[data-testid=folder-entry]',
    act: async (p) => p.locator('[data-testid=folder-entry][data-path="/home/ana/Documents"]').click(),
  },
  { name: 'detail-codes', hash: '#/share/sh-work/codes', wait: '[data-testid=qr-code]' },
  { name: 'detail-peers', hash: '#/share/sh-work/peers', wait: '[data-testid=peer-row]' },
  { name: 'detail-transfers', hash: '#/share/sh-photos/transfers', wait: '[data-testid=transfer-row]' },
  { name: 'detail-files', hash: '#/share/sh-work/files', wait: '[data-testid=file-row]' },
  { name: 'detail-recent', hash: '#/share/sh-work/recent', wait: '[data-testid=recent-row]' },
  { name: 'detail-archive', hash: '#/share/sh-work/archive', wait: '[data-testid=archive-row]' },
  { name: 'detail-ignore', hash: '#/share/sh-work/ignore', wait: '[data-testid=ignore-editor]' },
  { name: 'detail-error', hash: '#/share/sh-backup/codes', wait: '[data-testid=detail-error]' },
  { name: 'detail-encrypted', hash: '#/share/sh-backup/files', wait: '[data-testid=encrypted-note]' },
  { name: 'detail-held-deletes', hash: '#/share/sh-work/files', fake: { heldDeletes: 3_297 }, wait: '[data-testid=detail-held-deletes]' },
  { name: 'join-empty', hash: '#/join', wait: '[data-testid=join-code-input]' },
  {
    name: 'join-valid',
    hash: '#/join',
    wait: '[data-testid=join-code-input]',
    act: async (p) => {
      await p.fill('[data-testid=join-code-input]', 'pfr1q' + 'x'.repeat(51));
      await p.fill('[data-testid=join-path-input]', '/home/ana/Shared/Music');
      await p.waitForSelector('[data-testid=join-code-status][data-state=ok]');
    },
  },
  {
    name: 'join-typo',
    hash: '#/join',
    wait: '[data-testid=join-code-input]',
    act: async (p) => {
      await p.fill('[data-testid=join-code-input]', 'pfw1q' + 'x'.repeat(31) + 'b');
      await p.waitForSelector('[data-testid=join-code-status][data-state=error]');
    },
  },
  { name: 'conflicts', hash: '#/conflicts', wait: '[data-testid=conflict-diff]', viewport: { width: 1280, height: 1500 } },
  { name: 'conflicts-empty', hash: '#/conflicts', fake: { empty: true }, wait: '[data-testid=conflicts-empty]' },
  { name: 'settings', hash: '#/settings', wait: '[data-testid=settings-device-name]' },
  { name: 'settings-electron', hash: '#/settings', fake: { capabilities: electronCaps }, wait: '[data-testid=settings-start-at-login]' },
  { name: 'disconnected', hash: '#/shares', fake: { disconnectAfterMs: 300 }, wait: '[data-testid=connection-banner]' },
  {
    name: 'toast',
    hash: '#/shares',
    wait: '[data-testid=share-row]',
    act: async (p) => {
      await p.click('[data-testid=share-folder-button]');
      await p.fill('[data-testid=share-path-input]', '/home/ana/Projects/thesis');
      await p.click('[data-testid=share-submit]');
      await p.waitForSelector('[data-testid=code-read-write]');
      await p.click('[data-testid=detail-back]');
      await p.click('[data-testid=share-row][data-share-name="Music"] [data-testid=share-pause-toggle]');
      await p.evaluate(() => {
        window.__peerfoldFakeEmit('shareSynced', { shareId: 'sh-photos', name: 'Photos' });
        window.__peerfoldFakeEmit('error', {
          shareId: 'sh-backup',
          message: 'The folder /mnt/external/peerfold-backup is missing. Reconnect the drive, or remove this share.',
        });
      });
      await p.waitForSelector('[data-testid=toast][data-kind=error]');
    },
  },
  {
    name: 'focus',
    hash: '#/share/sh-work/peers',
    wait: '[data-testid=peer-row]',
    act: async (p) => {
      await p.keyboard.press('Tab');
      await p.focus('[data-testid=tab-peers]');
      await p.keyboard.press('ArrowRight');
      await p.keyboard.press('ArrowLeft');
    },
  },
  { name: 'narrow', hash: '#/shares', wait: '[data-testid=share-row]', viewport: { width: 820, height: 700 } },
].filter((s) => s.name.includes(filter));

mkdirSync(outDir, { recursive: true });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const problems = [];
try {
  for (const theme of ['light', 'dark']) {
    for (const shot of shots) {
      const context = await browser.newContext({
        viewport: shot.viewport ?? { width: 1280, height: 800 },
        colorScheme: theme,
        deviceScaleFactor: 1,
      });
      const page = await context.newPage();
      page.on('pageerror', (e) => problems.push(`${shot.name}/${theme}: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${shot.name}/${theme} console.${m.type()}: ${m.text()}`);
      });
      await page.addInitScript(`window.__PEERFOLD_FAKE__ = ${JSON.stringify(shot.fake ?? {})};`);
      await page.addInitScript(fakeJs);
      await page.goto(base + shot.hash);
      await page.waitForSelector(shot.wait, { timeout: 10_000 });
      if (shot.act) await shot.act(page);
      await page.waitForTimeout(350); // let transitions settle before the picture
      const file = join(outDir, `renderer-${shot.name}-${theme}.png`);
      await page.screenshot({ path: file, fullPage: !!shot.full });
      console.log('wrote', file);
      await context.close();
    }
  }
} finally {
  await browser.close();
  server.close();
}
if (problems.length) {
  console.log('\npage problems:\n' + problems.join('\n'));
  process.exitCode = 1;
}
