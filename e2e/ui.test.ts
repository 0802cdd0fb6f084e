// The web UI, end to end: Debian's Chromium (playwright-core) drives the built renderer served by
// two REAL `peerfold daemon` processes (separate homes, loopback only), and every check that
// matters is made twice: in the page, and on disk or through the daemon's own API. The tests also
// save screenshots of each main view, light and dark, to e2e/screenshots/ui-*.png (git-ignored).
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { Cluster, contentsUnder, converged, repoRoot, sha, treeOf, waitUntil, type Device } from './harness.ts';

const chromiumPath = '/usr/bin/chromium';
const shotsDir = join(repoRoot, 'e2e', 'screenshots');
const distDir = join(repoRoot, 'dist', 'renderer');
const buildLock = join(repoRoot, '.tmp', 'build.lock');

// ---------------------------------------------------------------------------------------------
// The built renderer

/** Newest modification time among the files the renderer is built from. */
function newestSource(): number {
  let newest = 0;
  const walk = (p: string) => {
    if (!existsSync(p)) return;
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const n of readdirSync(p)) if (n !== 'node_modules') walk(join(p, n));
    } else if (!/\.test\.tsx?$/.test(p)) newest = Math.max(newest, st.mtimeMs);
  };
  for (const p of ['renderer/src', 'renderer/public', 'renderer/index.html', 'renderer/vite.config.ts', 'shared']) walk(join(repoRoot, p));
  return newest;
}

function builtAt(): number {
  const index = join(distDir, 'index.html');
  return existsSync(index) ? statSync(index).mtimeMs : 0;
}

/** The files index.html loads, all present: a build caught halfway is not. */
function completeBuild(dir: string): boolean {
  const index = join(dir, 'index.html');
  if (!existsSync(index)) return false;
  const refs = [...readFileSync(index, 'utf8').matchAll(/(?:src|href)="\.\/([^"]+)"/g)].map((m) => m[1]);
  return refs.length > 0 && refs.every((r) => existsSync(join(dir, r)));
}

/**
 * Builds the renderer when it is missing or older than its sources, then copies it for these
 * daemons to serve (PEERFOLD_RENDERER_DIR), so another test rebuilding dist/ meanwhile cannot pull
 * files from under an open page. Both under .tmp/build.lock: other tests build too.
 */
function rendererCopy(into: string): string {
  mkdirSync(dirname(buildLock), { recursive: true });
  if (builtAt() < newestSource() || !completeBuild(distDir)) {
    const r = spawnSync('flock', [buildLock, process.execPath, join(repoRoot, 'scripts/build.mjs'), 'renderer'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `building the renderer failed:\n${r.stdout}\n${r.stderr}`);
  }
  const out = join(into, 'renderer');
  for (let attempt = 0; ; attempt++) {
    spawnSync('rm', ['-rf', out]);
    const r = spawnSync('flock', [buildLock, 'cp', '-R', distDir, out], { encoding: 'utf8' });
    if (r.status === 0 && completeBuild(out)) return out;
    // a build that does not take the lock was replacing dist/renderer: copy it again
    if (attempt >= 20) assert.fail(`could not copy a complete renderer build from ${distDir}: ${r.stderr}`);
    spawnSync('sleep', ['1']);
  }
}

// ---------------------------------------------------------------------------------------------
// Page helpers

/** Polls a locator's text until it matches. */
async function textOf(loc: Locator, re: RegExp, what: string, timeoutMs = 60_000): Promise<string> {
  return waitUntil(
    `${what} to read ${re}`,
    async () => {
      const t =
        (await loc
          .first()
          .textContent({ timeout: 1000 })
          .catch(() => null)) ?? '';
      return re.test(t) ? t : false;
    },
    timeoutMs,
    150,
  );
}

async function visible(loc: Locator, what: string, timeoutMs = 60_000): Promise<void> {
  await loc
    .first()
    .waitFor({ state: 'visible', timeout: timeoutMs })
    .catch((err: Error) => {
      throw new Error(`${what} did not appear: ${err.message.split('\n')[0]}`);
    });
}

async function gone(loc: Locator, what: string, timeoutMs = 60_000): Promise<void> {
  await waitUntil(`${what} to go away`, async () => (await loc.count()) === 0, timeoutMs, 150);
}

async function attr(loc: Locator, name: string, want: string | RegExp, what: string, timeoutMs = 60_000): Promise<string> {
  return waitUntil(
    `${what}: ${name}=${want}`,
    async () => {
      const v = await loc
        .first()
        .getAttribute(name, { timeout: 1000 })
        .catch(() => null);
      if (v === null) return false;
      return (typeof want === 'string' ? v === want : want.test(v)) ? v : false;
    },
    timeoutMs,
    150,
  );
}

/** The same view, light and dark. */
async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(shotsDir, { recursive: true });
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    // settle after the theme switch: two frames
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
    await page.screenshot({ path: join(shotsDir, `ui-${name}-${colorScheme}.png`), animations: 'disabled', caret: 'hide' });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

const tid = (page: Page, id: string) => page.getByTestId(id);

/** A device's page: opened at the address its daemon printed (which signs the browser in). */
interface Ui {
  device: Device;
  context: BrowserContext;
  page: Page;
  problems: string[];
}

async function openUi(browser: Browser, device: Device): Promise<Ui> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light', deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`${device.name}: page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${device.name}: console.error: ${m.text()}`);
  });
  await page.goto(await device.webUrl());
  await attr(tid(page, 'app'), 'data-connection', 'connected', `${device.name}'s UI connects`);
  await textOf(tid(page, 'status-device-name'), new RegExp(`^${device.name}$`), `${device.name}'s status bar`);
  return { device, context, page, problems };
}

/** Goes to a share's detail tab the way a user does: sidebar, then the tab. */
async function openTab(ui: Ui, shareId: string, tab: string): Promise<void> {
  await ui.page.locator(`[data-testid=nav-share][data-share-id="${shareId}"]`).click();
  await visible(ui.page.locator(`[data-testid=share-detail][data-share-id="${shareId}"]`), 'the share detail');
  await tid(ui.page, `tab-${tab}`).click();
  await visible(tid(ui.page, `panel-${tab}`), `the ${tab} tab`);
}

async function openShares(ui: Ui): Promise<void> {
  await tid(ui.page, 'nav-shares').click();
  await visible(ui.page.locator('[data-testid=share-list], [data-testid=shares-empty]'), 'the shares view');
}

function shareRow(ui: Ui, shareId: string): Locator {
  return ui.page.locator(`[data-testid=share-row][data-share-id="${shareId}"]`);
}

function write(file: string, data: string | Buffer): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, data);
}

/** Lines of a small text file, for a diff worth looking at. */
const notes = (who: string, tweak: string) =>
  [
    '# Trip planning',
    '',
    '- book the train',
    `- pack ${tweak}`,
    '- water the plants',
    `- ask ${who} about the keys`,
    '- print the tickets',
    '',
  ].join('\n');

// ---------------------------------------------------------------------------------------------

const clusters: Cluster[] = [];
let browser: Browser | null = null;
after(async () => {
  await browser?.close().catch(() => undefined);
  for (const c of clusters) await c.close();
});

test('the web UI against two real daemons: sign-in, share, join, transfer, pause, conflicts, settings', { timeout: 600_000 }, async (t) => {
  if (!existsSync(chromiumPath)) {
    t.skip('Chromium not installed: apt-get install chromium');
    return;
  }
  const { chromium } = await import('playwright-core');
  const c = new Cluster('peerfold-e2e-ui-');
  clusters.push(c);
  const env = { PEERFOLD_RENDERER_DIR: rendererCopy(c.base) };
  const [a, b] = await Promise.all([c.add('alpha', env), c.add('bravo', env)]);
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });

  // Files on alpha before it shares: three notes the devices will later disagree about.
  const original = notes('Sam', 'the blue bag');
  for (const n of ['keep-mine', 'keep-theirs', 'keep-both']) write(join(a.dir, `notes/${n}.txt`), original);
  write(join(a.dir, 'photos/README.md'), '# Photos\nHoliday pictures go here.\n');

  let uiA = null as Ui | null;
  let uiB = null as Ui | null;
  /** the pages of devices added later */
  const more: Ui[] = [];
  let shareId = '';
  let failed = false;
  const step = (name: string, fn: () => Promise<void>) =>
    t.test(name, async (st: TestContext) => {
      if (failed) {
        st.skip('an earlier step failed');
        return;
      }
      try {
        await fn();
      } catch (err) {
        failed = true;
        const safe = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40);
        for (const ui of [uiA, uiB, ...more])
          if (ui) await ui.page.screenshot({ path: join(shotsDir, `ui-failed-${safe}-${ui.device.name}.png`) }).catch(() => undefined);
        const logs = c.devices.map((d) => `----- ${d.name}\n${d.log.split('\n').slice(-40).join('\n')}`).join('\n');
        (err as Error).message += `\n(screenshots: e2e/screenshots/ui-failed-${safe}-*.png)\n${logs}`;
        throw err;
      }
    });

  await step('a request without the token gets the login page, never the app', async () => {
    const origin = new URL(await a.webUrl()).origin;
    const plain = await fetch(`${origin}/`, { redirect: 'manual' });
    assert.equal(plain.status, 401);
    const html = await plain.text();
    assert.match(html, /<title>Peerfold: sign in<\/title>/);
    assert.doesNotMatch(html, /id="root"|assets\//, 'the login page carries nothing of the app');
    // the app's own files need the token too
    const js = /src="\.\/(assets\/[^"]+\.js)"/.exec(readFileSync(join(env.PEERFOLD_RENDERER_DIR, 'index.html'), 'utf8'))![1];
    const asset = await fetch(`${origin}/${js}`, { redirect: 'manual' });
    assert.equal(asset.status, 401);
    assert.match(await asset.text(), /Peerfold: sign in/);

    // in the browser: no app, a login form; a wrong token is refused; the right one signs in
    const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      await page.goto(`${origin}/#/shares`);
      assert.equal(await page.title(), 'Peerfold: sign in');
      assert.equal(await page.locator('[data-testid=app], #root').count(), 0);
      await page.screenshot({ path: join(shotsDir, 'ui-login-light.png') });
      await page.goto(`${origin}/?token=not-the-token`);
      await visible(page.locator('.error[role=alert]'), 'the wrong-token message');
      assert.equal(await page.locator('[data-testid=app]').count(), 0);
      const token = new URL(await a.webUrl()).searchParams.get('token')!;
      await page.locator('input[name=token]').fill(token);
      await page.locator('button[type=submit]').click();
      await attr(tid(page, 'app'), 'data-connection', 'connected', 'the app after signing in with the form');
    } finally {
      await context.close();
    }
  });

  await step('alpha shares a folder through the share dialog and shows its codes with a QR code', async () => {
    uiA = await openUi(browser!, a);
    const p = uiA.page;
    await visible(tid(p, 'shares-empty'), 'the empty state of a new device');
    await shot(p, 'shares-empty');
    await tid(p, 'share-folder-button').click();
    await visible(tid(p, 'share-dialog'), 'the share dialog');
    await tid(p, 'share-path-input').fill(a.dir);
    await tid(p, 'folder-go').click();
    // the dialog's browser lists the server's folders, here the one being shared
    await visible(p.locator('[data-testid=folder-entry]', { hasText: 'photos' }), 'the folder browser listing alpha’s folder');
    await shot(p, 'share-dialog');
    await tid(p, 'share-submit').click();

    const detail = tid(p, 'share-detail');
    await visible(detail, 'the new share’s detail view');
    shareId = (await detail.getAttribute('data-share-id'))!;
    assert.ok(shareId, 'the detail view names its share');
    assert.equal((await a.share(shareId)).path, a.dir, 'the daemon shares exactly the folder typed into the dialog');
    await textOf(tid(p, 'detail-name'), /^alpha-folder$/, 'the share name');
    const shown = (await textOf(tid(p, 'code-read-write'), /\S{20,}/, 'the read-write code')).trim();
    const codes = await a.call('codes', { share: shareId });
    assert.equal(shown, codes.readWrite, 'the UI shows the daemon’s read-write code');
    await textOf(tid(p, 'code-read-only'), /\S{20,}/, 'the read-only code');
    // every code the device may show, each with its QR code and a line on what it grants
    for (const [level, key] of [
      ['read-write', 'readWrite'],
      ['read-only', 'readOnly'],
      ['encrypted', 'encrypted'],
    ] as const) {
      const card = tid(p, `code-card-${level}`);
      await visible(card.getByTestId('qr-code'), `the QR code of the ${level} code`);
      assert.equal(await card.getByTestId('qr-code').getAttribute('data-value'), codes[key], `the ${level} QR code holds that code`);
      await textOf(card.getByTestId(`code-grants-${level}`), /\w+ \w+ \w+/, `what the ${level} code grants`);
    }
    await textOf(tid(p, 'detail-size'), /\d/, 'the size');
    await attr(tid(p, 'detail-state'), 'data-state', 'idle', 'alpha’s share after its first scan');
    await shot(p, 'detail-codes');
  });

  await step('bravo joins through its own UI: a mistyped code is caught as it is typed, the real one shows its level', async () => {
    uiB = await openUi(browser!, b);
    const p = uiB.page;
    const code = (await uiA!.page.getByTestId('code-read-write').textContent())!.trim();
    await tid(p, 'nav-join').click();
    const input = tid(p, 'join-code-input');
    await visible(input, 'the code field');

    // one character changed, the way a person mistypes when copying by hand
    const i = Math.floor(code.length / 2);
    const typo = code.slice(0, i) + (code[i] === 'q' ? 'p' : 'q') + code.slice(i + 1);
    await input.pressSequentially(typo.slice(0, 12));
    await input.fill(typo);
    await attr(tid(p, 'join-code-status'), 'data-state', 'error', 'the status of a mistyped code');
    await textOf(tid(p, 'join-code-error'), /^Malformed code: \w{4,}/, 'the typo message');
    assert.equal(await tid(p, 'join-code-error').getAttribute('data-malformed'), 'true');
    assert.equal(await tid(p, 'join-submit').isDisabled(), true, 'a mistyped code cannot be joined');
    await tid(p, 'join-path-input').fill(b.dir);
    await shot(p, 'join-typo');

    await input.fill(code);
    await attr(tid(p, 'join-code-status'), 'data-state', 'ok', 'the status of the right code');
    await attr(tid(p, 'join-code-level'), 'data-level', 'read-write', 'the level of the code');
    await textOf(tid(p, 'join-code-level'), /Read & write/, 'the level shown');
    assert.equal(await tid(p, 'join-submit').isDisabled(), false);
    await shot(p, 'join-valid');
    await tid(p, 'join-submit').click();

    await visible(p.locator(`[data-testid=share-detail][data-share-id="${shareId}"]`), 'bravo’s new share');
    await textOf(tid(p, 'detail-access'), /Read & write/, 'bravo’s access');
    assert.equal((await b.share(shareId)).path, b.dir, 'bravo keeps the share in the folder typed in');
    await converged([a, b], shareId);
    // what arrived is in bravo's UI too
    await openTab(uiB, shareId, 'files');
    await visible(p.locator('[data-testid=file-row][data-path="notes/keep-both.txt"]'), 'the synced file in bravo’s file list');
    await textOf(tid(p, 'detail-peers'), /^1$/, 'bravo’s connected peer count');
  });

  await step('a receive limit set in Settings makes a big file’s transfer visible, with per-file progress; it arrives intact', async () => {
    const p = uiB!.page;
    await tid(p, 'nav-settings').click();
    const recv = tid(p, 'settings-max-recv');
    await visible(recv, 'the download limit field');
    await recv.fill('2500');
    await tid(p, 'settings-save').click();
    await visible(tid(p, 'settings-saved'), 'the saved confirmation');
    assert.equal((await b.call('getSettings', {})).maxRecvKBps, 2500, 'the daemon has the limit typed into Settings');
    // the internet servers: a bad tracker is named as such before anything is sent; a good one is saved as a list
    const trackers = tid(p, 'settings-trackers');
    assert.equal(await trackers.inputValue(), '', 'the harness starts with no trackers');
    await trackers.fill('wss://tracker.example.org\nhttp://not-a-tracker.example.org');
    await textOf(
      tid(p, 'settings-problem'),
      /Trackers: "http:\/\/not-a-tracker\.example\.org": a tracker URL starts with ws:\/\/ or wss:\/\//,
      'the problem',
    );
    assert.equal(await tid(p, 'settings-save').isDisabled(), true);
    assert.equal(await trackers.getAttribute('aria-invalid'), 'true', 'the list with the bad tracker is marked');
    await trackers.fill('ws://127.0.0.1:9\nws://127.0.0.1:10');
    await tid(p, 'settings-save').click();
    await visible(tid(p, 'settings-saved'), 'the saved confirmation');
    assert.deepEqual((await b.call('getSettings', {})).trackers, ['ws://127.0.0.1:9', 'ws://127.0.0.1:10']);
    // how each tracker is doing, under the list (the daemon's status): nothing listens there
    await textOf(
      tid(p, 'settings-tracker-status'),
      /ws:\/\/127\.0\.0\.1:9\s*unreachable, retrying: .*ECONNREFUSED.*ws:\/\/127\.0\.0\.1:10\s*unreachable, retrying/,
      'both trackers shown as unreachable',
    );
    await tid(p, 'settings-lan-only').check();
    assert.equal(await trackers.isDisabled(), true, 'LAN only greys the server lists out');
    await gone(tid(p, 'settings-tracker-status'), 'the tracker status under LAN only');
    await tid(p, 'settings-lan-only').uncheck();
    await trackers.fill('');
    await tid(p, 'settings-save').click();
    await visible(tid(p, 'settings-saved'), 'the saved confirmation');
    assert.deepEqual((await b.call('getSettings', {})).trackers, []);
    // clicking Save scrolled the form; the picture is of the whole view from its top
    await p.evaluate("document.getElementById('main')?.scrollTo(0, 0)");
    await shot(p, 'settings');

    const big = randomBytes(48 * 1024 * 1024);
    write(join(a.dir, 'media/holiday.mov'), big);
    // the shares list first: the row says what is still needed while it syncs
    await openShares(uiB!);
    const shareLine = shareRow(uiB!, shareId);
    await textOf(shareLine.getByTestId('share-need'), /^Needs \d+ files? \(\d+(\.\d+)? MB\)$/, 'what bravo still needs', 90_000);
    await attr(shareLine.getByTestId('share-state'), 'data-state', 'syncing', 'bravo’s share while it syncs');
    await shot(p, 'shares-syncing');

    await openTab(uiB!, shareId, 'transfers');
    const row = p.locator('[data-testid=transfer-row][data-path="media/holiday.mov"]');
    await visible(row, 'the transfer row of the big file', 90_000);
    // a visible, partly filled bar with its percentage
    const pct = await attr(
      row.getByTestId('transfer-progress'),
      'data-value',
      /^([5-9]|[1-8]\d)$/,
      'the file’s progress bar partly filled',
      90_000,
    );
    assert.match((await row.getByTestId('transfer-progress').getAttribute('aria-label'))!, /holiday\.mov: \d+%/);
    await textOf(row.getByTestId('transfer-speed'), /\d/, 'the transfer speed');
    t.diagnostic(`transfer seen at ${pct}%`);
    await shot(p, 'detail-transfers');

    // lift the limit (through Settings again) so the rest is quick
    await tid(p, 'nav-settings').click();
    await recv.fill('0');
    await tid(p, 'settings-save').click();
    await visible(tid(p, 'settings-saved'), 'the saved confirmation');
    await converged([a, b], shareId);
    assert.equal(sha(readFileSync(join(b.dir, 'media/holiday.mov'))), sha(big), 'the big file arrived intact');
    await openTab(uiB!, shareId, 'files');
    await visible(p.locator('[data-testid=file-row][data-path="media/holiday.mov"]'), 'the big file in bravo’s file list');
    await openTab(uiB!, shareId, 'transfers');
    await visible(tid(p, 'transfers-empty'), 'the empty transfer list once done');
  });

  await step('pause and resume from the UI: the badge follows, and a file written meanwhile arrives only after resuming', async () => {
    // A third device in the same share, left running, is the proof that a file written while
    // bravo is paused did travel: its absence on bravo is then the pause's doing, not slowness.
    const charlie = await c.add('charlie');
    await charlie.call('join', { code: (await a.call('codes', { share: shareId })).readWrite!, path: charlie.dir });
    await converged([a, b, charlie], shareId);

    const p = uiB!.page;
    await openShares(uiB!);
    const row = shareRow(uiB!, shareId);
    await row.getByTestId('share-pause-toggle').click();
    await attr(row, 'data-state', 'paused', 'bravo’s share row after Pause');
    await textOf(row.getByTestId('share-state'), /^Paused$/, 'the state badge');
    await textOf(row.getByTestId('share-pause-toggle'), /Resume/, 'the toggle');
    await attr(tid(p, 'status-overall'), 'data-state', 'paused', 'the status bar');
    assert.equal((await b.share(shareId)).paused, true, 'the daemon paused the share');

    const text = 'written while bravo was paused\n';
    write(join(a.dir, 'paused/while-paused.txt'), text);
    await waitUntil(
      'the file to reach charlie',
      () =>
        existsSync(join(charlie.dir, 'paused/while-paused.txt')) &&
        readFileSync(join(charlie.dir, 'paused/while-paused.txt'), 'utf8') === text,
      60_000,
    );
    assert.ok(!existsSync(join(b.dir, 'paused/while-paused.txt')), 'a file written while bravo was paused did not arrive there');
    await shot(p, 'shares-paused');
    await charlie.stop();

    await row.getByTestId('share-pause-toggle').click();
    await attr(row, 'data-state', /^(idle|syncing|scanning)$/, 'bravo’s share row after Resume');
    await textOf(row.getByTestId('share-pause-toggle'), /Pause/, 'the toggle');
    await converged([a, b], shareId);
    assert.equal(readFileSync(join(b.dir, 'paused/while-paused.txt'), 'utf8'), text);
    await openTab(uiB!, shareId, 'files');
    await visible(p.locator('[data-testid=file-row][data-path="paused/while-paused.txt"]'), 'the file in bravo’s list after resuming');
  });

  const mineA = notes('Sam', 'the red bag (alpha)');
  const mineB = notes('Kim', 'the green bag (bravo)');
  await step('concurrent edits on both devices show up as conflicts, side by side with a text diff', async () => {
    // pause both from their UIs, edit the same files differently on both disks, rescan, resume
    for (const ui of [uiA!, uiB!]) {
      await openShares(ui);
      await shareRow(ui, shareId).getByTestId('share-pause-toggle').click();
      await attr(shareRow(ui, shareId), 'data-state', 'paused', `${ui.device.name}’s share after Pause`);
    }
    const names = ['keep-mine', 'keep-theirs', 'keep-both'];
    const before = new Map((await a.call('files', { share: shareId })).map((f) => [f.path, f.hash]));
    for (const n of names) write(join(a.dir, `notes/${n}.txt`), mineA);
    for (const n of names) write(join(b.dir, `notes/${n}.txt`), mineB);
    for (const ui of [uiA!, uiB!]) {
      await openTab(ui, shareId, 'recent');
      await tid(ui.page, 'detail-rescan').click();
      await waitUntil(`${ui.device.name} to index its edits`, async () => {
        const files = await ui.device.call('files', { share: shareId });
        return names.every((n) => {
          const f = files.find((x) => x.path === `notes/${n}.txt`);
          return f && f.hash !== before.get(f.path);
        });
      });
      await tid(ui.page, 'detail-pause-toggle').click();
      await attr(tid(ui.page, 'detail-state'), 'data-state', /^(idle|syncing|scanning)$/, `${ui.device.name}’s share after Resume`);
    }
    for (const ui of [uiA!, uiB!])
      await textOf(tid(ui.page, 'nav-conflicts-count'), /^3$/, `${ui.device.name}’s conflict count in the sidebar`, 90_000);
    await converged([a, b], shareId);

    const p = uiB!.page;
    await tid(p, 'nav-conflicts').click();
    await waitUntil('three conflict cards', async () => (await tid(p, 'conflict-item').count()) === 3);
    for (const n of names) {
      const card = p.locator(`[data-testid=conflict-item][data-path="notes/${n}.txt"]`);
      await textOf(card.getByTestId('conflict-local-device'), /bravo/, `the device of bravo’s own version of ${n}`);
      await textOf(card.getByTestId('conflict-remote-device'), /alpha/, `the device of the other version of ${n}`);
      await visible(card.getByTestId('conflict-diff'), `the text diff of ${n}`);
      // the diff shows both edited lines
      await textOf(
        card.getByTestId('conflict-diff'),
        /green bag \(bravo\)[\s\S]*red bag \(alpha\)|red bag \(alpha\)[\s\S]*green bag \(bravo\)/,
        `the diff of ${n}`,
      );
    }
    await p.setViewportSize({ width: 1280, height: 1300 });
    await shot(p, 'conflicts');
    await p.setViewportSize({ width: 1280, height: 800 });
    await tid(uiA!.page, 'nav-conflicts').click();
    await waitUntil('alpha’s three conflict cards', async () => (await tid(uiA!.page, 'conflict-item').count()) === 3);
  });

  await step('the conflicts are resolved from the UI (Keep mine, Keep theirs, Keep both) and the result is on both disks', async () => {
    const card = (ui: Ui, n: string) => ui.page.locator(`[data-testid=conflict-item][data-path="notes/${n}.txt"]`);
    // bravo keeps its own version of one and alpha's of another; alpha keeps both of the third
    await card(uiB!, 'keep-mine').getByTestId('resolve-keep-local').click();
    await gone(card(uiB!, 'keep-mine'), 'the keep-mine conflict on bravo');
    await card(uiB!, 'keep-theirs').getByTestId('resolve-keep-remote').click();
    await gone(card(uiB!, 'keep-theirs'), 'the keep-theirs conflict on bravo');
    await card(uiA!, 'keep-both').getByTestId('resolve-keep-both').click();
    for (const ui of [uiA!, uiB!]) {
      await visible(tid(ui.page, 'conflicts-empty'), `${ui.device.name}’s empty conflicts view`, 90_000);
      await gone(tid(ui.page, 'nav-conflicts-count'), `${ui.device.name}’s conflict count`);
    }
    await shot(uiA!.page, 'conflicts-empty');
    const tree = await converged([a, b], shareId);

    for (const d of [a, b]) {
      const read = (rel: string) => readFileSync(join(d.dir, rel), 'utf8');
      assert.equal(read('notes/keep-mine.txt'), mineB, `${d.name}: “Keep mine” on bravo kept bravo’s version`);
      assert.equal(read('notes/keep-theirs.txt'), mineA, `${d.name}: “Keep theirs” on bravo kept alpha’s version`);
      const both = [...tree.keys()].filter((k) => k.startsWith('notes/keep-both')).sort();
      assert.equal(both.length, 2, `${d.name}: “Keep both” leaves two files: ${both.join(', ')}`);
      assert.ok(both.includes('notes/keep-both.txt'));
      const copy = both.find((k) => k !== 'notes/keep-both.txt')!;
      assert.match(copy, /^notes\/keep-both \((alpha|bravo) \d{8}-\d{6}\)\.txt$/, 'the kept copy is named after its device and time');
      assert.deepEqual(new Set([read('notes/keep-both.txt'), read(copy)]), new Set([mineA, mineB]), `${d.name} holds both versions`);
      assert.ok(![...treeOf(d.dir).keys()].some((k) => k.includes('.conflict-')), `${d.name} has no conflict copy left`);
      assert.equal((await d.call('conflicts', { share: shareId })).length, 0, `${d.name}'s daemon lists no conflict`);
    }
    // nothing was destroyed: the versions not kept are in the archive of the device that resolved
    const keptOnB = contentsUnder(b.dir);
    assert.ok(keptOnB.has(sha(mineA)) && keptOnB.has(sha(mineB)));
  });

  await step('the remaining views: shares lists, peers, files, recent changes, archive, ignore rules', async () => {
    await openShares(uiA!);
    await textOf(shareRow(uiA!, shareId).getByTestId('share-peers'), /^1$/, 'alpha’s peer count');
    await shot(uiA!.page, 'shares');
    await openShares(uiB!);
    await shot(uiB!.page, 'shares-bravo');
    const p = uiB!.page;
    await openTab(uiB!, shareId, 'peers');
    const peer = p.locator('[data-testid=peer-row]', { hasText: 'alpha' });
    await attr(peer, 'data-connected', 'true', 'alpha in bravo’s peer list');
    await textOf(peer.getByTestId('peer-name'), /alpha/, 'the peer’s name');
    await shot(p, 'detail-peers');
    await openTab(uiB!, shareId, 'files');
    await visible(p.locator('[data-testid=file-row][data-path="notes/keep-mine.txt"]'), 'the file list');
    await shot(p, 'detail-files');
    await openTab(uiB!, shareId, 'recent');
    await visible(tid(p, 'recent-row'), 'a recent change');
    await shot(p, 'detail-recent');
    await openTab(uiB!, shareId, 'archive');
    await visible(tid(p, 'archive-row'), 'an archived version (the conflict side not kept)');
    await shot(p, 'detail-archive');
    await openTab(uiB!, shareId, 'ignore');
    await visible(tid(p, 'ignore-editor'), 'the ignore rules editor');
    await shot(p, 'detail-ignore');
  });

  await step('an invite made in alpha’s codes tab lets a new device join from its own page; Revoke cancels another', async () => {
    const p = uiA!.page;
    await openTab(uiA!, shareId, 'codes');
    await tid(p, 'invite-open').click();
    await visible(tid(p, 'invite-dialog'), 'the invite dialog');
    for (const level of ['read-write', 'read-only', 'encrypted'])
      assert.equal(await tid(p, `invite-access-${level}`).isDisabled(), false, `a read-write device may invite a ${level} device`);
    await tid(p, 'invite-expiry').selectOption(String(3_600_000));
    await shot(p, 'invite-dialog');
    await tid(p, 'invite-create').click();
    const code = (await textOf(tid(p, 'invite-code'), /^pfi1\S{100,}$/, 'the invite code')).trim();
    assert.equal(
      await p.locator('[data-testid=invite-made] [data-testid=qr-code]').getAttribute('data-value'),
      code,
      'the QR code holds the invite',
    );
    const open = await a.call('invites', { share: shareId });
    assert.deepEqual(
      open.map((i) => i.code),
      [code],
      'the daemon holds the invite the page shows',
    );
    assert.ok(open[0]!.expiresAt <= Date.now() + 3_600_000 + 1000, 'valid for the hour chosen');
    await shot(p, 'invite-made');
    await tid(p, 'invite-done').click();
    await visible(tid(p, `invite-row-${open[0]!.id}`), 'the open invite in the codes tab');
    await tid(p, 'invites-panel').scrollIntoViewIfNeeded();
    await shot(p, 'detail-codes-invites');

    const d = await c.add('delta', env);
    const uiD = await openUi(browser!, d);
    more.push(uiD);
    const q = uiD.page;
    await tid(q, 'nav-join').click();
    await tid(q, 'join-code-input').fill(code);
    await attr(tid(q, 'join-code-status'), 'data-state', 'ok', 'the status of the invite code');
    await attr(tid(q, 'join-code-level'), 'data-level', 'read-write', 'the level the invite grants');
    await textOf(tid(q, 'join-code-invite'), /One-time invite, valid until/, 'what the invite is');
    await tid(q, 'join-path-input').fill(d.dir);
    await shot(q, 'join-invite');
    await tid(q, 'join-submit').click();
    await visible(q.locator(`[data-testid=share-detail][data-share-id="${shareId}"]`), 'delta’s new share', 90_000);
    await converged([a, d], shareId);
    assert.ok(!readFileSync(join(d.home, 'shares.json'), 'utf8').includes(code), 'delta keeps the share code, not the invite');
    // used: gone from alpha's open invites, in the daemon and on the page
    assert.deepEqual(await a.call('invites', { share: shareId }), []);
    await gone(tid(p, `invite-row-${open[0]!.id}`), 'the used invite in alpha’s list');

    await tid(p, 'invite-open').click();
    await tid(p, 'invite-create').click();
    await visible(tid(p, 'invite-code'), 'a second invite');
    await tid(p, 'invite-done').click();
    const [second] = await a.call('invites', { share: shareId });
    await tid(p, `invite-revoke-${second!.id}`).click();
    await gone(tid(p, `invite-row-${second!.id}`), 'the revoked invite');
    assert.deepEqual(await a.call('invites', { share: shareId }), [], 'the daemon revoked it');
  });

  await step('a read-only invite joined from a new device’s page waits for the inviter, then the page reverts a local change', async () => {
    // alpha makes a read-only invite in its page, then goes quiet on the LAN: the new device
    // knows no address of it, so its join waits for alpha
    const p = uiA!.page;
    await openTab(uiA!, shareId, 'codes');
    await tid(p, 'invite-open').click();
    await tid(p, 'invite-access-read-only').check();
    await shot(p, 'invite-dialog-read-only');
    await tid(p, 'invite-create').click();
    const code = (await textOf(tid(p, 'invite-code'), /^pfi1\S{100,}$/, 'the read-only invite')).trim();
    await tid(p, 'invite-done').click();
    await a.call('setSettings', { lanDiscovery: false });

    const e = await c.add('echo', env);
    const uiE = await openUi(browser!, e);
    more.push(uiE);
    const q = uiE.page;
    let pendingId = '';
    try {
      await tid(q, 'nav-join').click();
      await tid(q, 'join-code-input').fill(code);
      await attr(tid(q, 'join-code-level'), 'data-level', 'read-only', 'the level the read-only invite grants');
      await tid(q, 'join-path-input').fill(e.dir);
      await tid(q, 'join-submit').click();
      await visible(tid(q, 'pending-join-waiting'), 'the share waiting for the device that made the invite');
      pendingId = (await tid(q, 'share-detail').getAttribute('data-share-id'))!;
      assert.match(pendingId, /^invite-[0-9a-f]{16}$/);
      await attr(tid(q, 'detail-state'), 'data-state', 'waiting-for-issuer', 'the badge of the waiting share');
      assert.equal((await e.share(pendingId)).state, 'waiting-for-issuer', 'the daemon says the same');
      await shot(q, 'join-waiting-for-issuer');
      await openShares(uiE);
      await attr(shareRow(uiE, pendingId), 'data-state', 'waiting-for-issuer', 'the waiting share in the list');
      await shot(q, 'shares-waiting-for-issuer');
      await shareRow(uiE, pendingId).getByTestId('share-open').click();
      await visible(tid(q, 'pending-join-waiting'), 'the waiting share again');
    } finally {
      await a.call('setSettings', { lanDiscovery: true });
    }
    // alpha is back on the LAN: the page follows the share to its real id
    await visible(q.locator(`[data-testid=share-detail][data-share-id="${shareId}"]`), 'echo’s share once alpha let it in', 120_000);
    await textOf(tid(q, 'detail-access'), /^Read only$/, 'echo’s access badge');
    assert.equal((await e.share(shareId)).access, 'read-only');
    await waitUntil('the files on echo', () => existsSync(join(e.dir, 'photos/README.md')), 120_000);
    await openTab(uiE, shareId, 'codes');
    await visible(tid(q, 'code-card-read-only').getByTestId('qr-code'), 'the read-only code’s QR code');
    assert.equal(await tid(q, 'code-read-write').count(), 0, 'a read-only device shows no read-write code');
    await shot(q, 'detail-codes-read-only');
    // it may invite devices of its own level or below, not read-write ones
    await tid(q, 'invite-open').click();
    assert.equal(await tid(q, 'invite-access-read-write').isDisabled(), true, 'a read-only device cannot invite a read-write one');
    assert.equal(await tid(q, 'invite-access-read-only').isChecked(), true, 'its own level by default');
    await tid(q, 'invite-cancel').click();
    await gone(tid(q, 'invite-dialog'), 'the invite dialog');

    // local changes on the read-only device: an edit and a new file
    const shared = readFileSync(join(a.dir, 'photos/README.md'), 'utf8');
    const edit = '# Photos\nEdited on echo, which cannot send it.\n';
    write(join(e.dir, 'photos/README.md'), edit);
    write(join(e.dir, 'echo-only.txt'), 'made on echo\n');
    await tid(q, 'detail-rescan').click();
    await visible(tid(q, 'local-changes-note'), 'the note on local changes', 120_000);
    await textOf(tid(q, 'local-changes-note'), /2 changes made on this device/, 'the count of local changes', 120_000);
    await openShares(uiE);
    await textOf(shareRow(uiE, shareId).getByTestId('share-local-changes'), /^2 local changes$/, 'the chip in the share list');
    await shot(q, 'shares-local-changes');
    await shareRow(uiE, shareId).getByTestId('share-local-changes').click();
    await visible(tid(q, 'panel-changes'), 'the local changes tab');
    const row = (path: string) => q.locator(`[data-testid=change-row][data-path="${path}"]`);
    await attr(row('photos/README.md'), 'data-change', 'modified', 'the edit in the list');
    await attr(row('echo-only.txt'), 'data-change', 'added', 'the new file in the list');
    await shot(q, 'detail-local-changes');

    // one revert: the shared version is back, the edit kept in the archive
    await row('photos/README.md').getByTestId('change-revert').click();
    await gone(row('photos/README.md'), 'the reverted change');
    await waitUntil('the shared version back on disk', () => readFileSync(join(e.dir, 'photos/README.md'), 'utf8') === shared);
    assert.ok(contentsUnder(e.dir).has(sha(edit)), 'the reverted edit is kept (in the archive)');
    // then all: the new file goes to the archive too
    await tid(q, 'changes-revert-all').click();
    await visible(tid(q, 'confirm-dialog'), 'the confirmation of Revert all');
    await shot(q, 'changes-revert-all');
    await tid(q, 'confirm-ok').click();
    await visible(tid(q, 'changes-empty'), 'no local changes left');
    assert.equal(existsSync(join(e.dir, 'echo-only.txt')), false, 'the new file left the folder');
    assert.ok(contentsUnder(e.dir).has(sha('made on echo\n')), 'and is kept in the archive');
    await waitUntil('the daemon to count no local change', async () => (await e.share(shareId)).localChanges === 0);
    assert.deepEqual(await e.call('changes', { share: shareId }), []);
    await gone(tid(q, 'local-changes-note'), 'the note on local changes');
    await shot(q, 'detail-no-local-changes');
    assert.equal(readFileSync(join(a.dir, 'photos/README.md'), 'utf8'), shared, 'alpha never took the edit');
  });

  await step(
    'an encrypted device’s page says it keeps a copy it cannot read, with its size and peers, and has no file browser',
    async () => {
      const codes = await a.call('codes', { share: shareId });
      const f = await c.add('foxtrot', env);
      const uiF = await openUi(browser!, f);
      more.push(uiF);
      const q = uiF.page;
      await tid(q, 'nav-join').click();
      await tid(q, 'join-code-input').fill(codes.encrypted!);
      await attr(tid(q, 'join-code-level'), 'data-level', 'encrypted', 'the level of the encrypted code');
      await tid(q, 'join-path-input').fill(f.dir);
      await tid(q, 'join-submit').click();
      await visible(q.locator(`[data-testid=share-detail][data-share-id="${shareId}"]`), 'foxtrot’s encrypted share', 90_000);
      await textOf(tid(q, 'detail-access'), /^Encrypted$/, 'foxtrot’s access badge');
      await visible(tid(q, 'encrypted-note'), 'the note on the encrypted copy');
      await waitUntil('the encrypted copy to hold data', async () => (await f.share(shareId)).localBytes > 0, 120_000);
      await textOf(
        tid(q, 'encrypted-note'),
        /keeps an encrypted copy it cannot read\. It stores [\d.]+ [kMG]?B .*[1-9]\d* peers? connected/,
        'size and peers in the note',
        120_000,
      );
      for (const t of ['transfers', 'files', 'changes', 'recent', 'archive', 'ignore'])
        assert.equal(await tid(q, `tab-${t}`).count(), 0, `no ${t} tab on an encrypted copy`);
      await tid(q, 'tab-codes').click();
      assert.equal((await textOf(tid(q, 'code-encrypted'), /^pfe1/, 'the encrypted code')).trim(), codes.encrypted);
      assert.equal(await tid(q, 'code-read-only').count(), 0, 'an encrypted device shows no read-only code');
      assert.equal(await tid(q, 'code-read-write').count(), 0, 'nor a read-write one');
      await shot(q, 'detail-encrypted');
    },
  );

  await step('no page errors in any UI', async () => {
    const problems = [...uiA!.problems, ...uiB!.problems, ...more.flatMap((u) => u.problems)];
    assert.deepEqual(problems, [], 'errors in the pages');
  });
  await uiA?.context.close();
  await uiB?.context.close();
  for (const u of more) await u.context.close();
});
