// The Electron main process: hosts the engine in-process and binds the pure models (tray, menu,
// notifications, window policy, IPC) to Electron. Decisions live in the *-model.ts and policy
// files next to this one, where they are unit-tested; this file only wires them up.
import { app, BrowserWindow, dialog, ipcMain, Menu, nativeImage, Notification, protocol, session, shell, Tray } from 'electron';
import type { IpcMainInvokeEvent, MenuItemConstructorOptions } from 'electron';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { EventName, Settings, StatusResult } from '../../shared/api.ts';
import { validateParams } from '../../shared/validate.ts';
import { resolveHome } from '../engine/config/home.ts';
import { Engine } from '../engine/engine.ts';
import { CALL_CHANNEL, EVENT_CHANNEL, OPEN_PATH_CHANNEL, PICK_FOLDER_CHANNEL } from '../../preload/channels.ts';
import { EVENT_NAMES, handleCall, isTrustedSender, planOpenPath, replyError } from './ipc-model.ts';
import type { CallReply, ShellEffect } from './ipc-model.ts';
import { loginItemPlan, parseAppArgs, showWindowAtStart } from './launch-model.ts';
import { emptyNotifyMemory, notify, parseNotifyMemory, serializeNotifyMemory } from './notify-model.ts';
import type { EngineEvent, Notice, NotifyMemory } from './notify-model.ts';
import { trayIconFile, trayView } from './tray-model.ts';
import type { TrayAction, TrayMenuItem } from './tray-model.ts';
import { openFolder, type FolderOnDisk } from './open-folder.ts';
import {
  APP_SCHEME,
  appEntryUrl,
  appResponseHeaders,
  navigationAllowed,
  permissionAllowed,
  resolveAppRequest,
  safeRoute,
  secureWebPreferences,
  windowOpenDecision,
} from './window-policy.ts';

const args = parseAppArgs(process.argv);
const appRoot = app.getAppPath();
const paths = {
  renderer: join(appRoot, 'dist', 'renderer'),
  preload: join(appRoot, 'dist', 'preload', 'index.cjs'),
  assets: join(appRoot, 'assets'),
};

let engine: Engine | null = null;
let engineError: string | null = null;
let engineClosed = false;
let status: StatusResult | null = null;
let settings: Settings | null = null;
let win: BrowserWindow | null = null;
let tray: Tray | null = null;
let quitting = false;
let notifyMemory: NotifyMemory = emptyNotifyMemory();
const shownNotifications = new Set<Notification>();

// Must happen before 'ready': our scheme behaves like https (standard, secure origin).
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
]);

if (!app.requestSingleInstanceLock()) {
  // another Peerfold owns this user's engine: it shows its window (see 'second-instance')
  app.quit();
} else {
  app.on('second-instance', () => showWindow());
  app.on('activate', () => showWindow());
  // a tray app lives on without windows
  app.on('window-all-closed', () => {});
  app.on('before-quit', (e) => {
    quitting = true;
    if (engine && !engineClosed) {
      e.preventDefault();
      engineClosed = true;
      engine
        .close()
        .catch((err) => console.error('peerfold: closing the engine failed', err))
        .finally(() => app.quit());
    }
  });
  app
    .whenReady()
    .then(start)
    .catch((err) => {
      dialog.showErrorBox('Peerfold could not start', String(err instanceof Error ? (err.stack ?? err.message) : err));
      app.exit(1);
    });
}

async function start(): Promise<void> {
  if (process.platform === 'win32') app.setAppUserModelId('org.peerfold.app');
  serveRenderer();
  lockDownSession();
  registerIpc();
  notifyMemory = loadNotifyMemory();
  tray = new Tray(trayImage(trayIconFile('idle', { platform: process.platform })));
  tray.on('click', () => showWindow());
  refreshTray();

  const home = resolveHome(args.home);
  try {
    engine = await Engine.open({ home });
  } catch (err) {
    engineError = `${err instanceof Error ? err.message : String(err)} (home: ${home})`;
    refreshTray();
    showNotice({ kind: 'error', title: 'Peerfold could not start its engine', body: engineError, route: '#/' });
    return;
  }
  for (const name of EVENT_NAMES) engine.on(name, (data) => onEngineEvent({ event: name, data } as EngineEvent));
  status = await engine.call('status', {});
  const stored = await engine.call('getSettings', {});
  settings = stored;
  // the engine's setting is the truth; the OS registration follows it (and is repaired if changed behind our back)
  applyEffects([{ kind: 'startAtLogin', enabled: stored.startAtLogin }]);
  refreshTray();
  const openedAtLogin = process.platform === 'darwin' && app.getLoginItemSettings().wasOpenedAtLogin;
  if (showWindowAtStart(args, openedAtLogin)) showWindow();
}

function onEngineEvent(e: EngineEvent): void {
  if (e.event === 'status') {
    status = e.data;
    refreshTray();
  }
  if (win && !win.isDestroyed()) win.webContents.send(EVENT_CHANNEL, e.event satisfies EventName, e.data);
  const r = notify(notifyMemory, e, Date.now());
  if (r.memory !== notifyMemory) saveNotifyMemory(r.memory);
  notifyMemory = r.memory;
  for (const n of r.notices) showNotice(n);
}

// --- renderer and window ---------------------------------------------------------------------

function serveRenderer(): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const file = resolveAppRequest(request.url, paths.renderer);
    if (!file) return new Response('Not found', { status: 404 });
    try {
      return new Response(await readFile(file), { headers: appResponseHeaders(file) });
    } catch {
      return new Response('Not found', { status: 404 });
    }
  });
}

function lockDownSession(): void {
  const s = session.defaultSession;
  s.setPermissionRequestHandler((_wc, permission, callback, details) => callback(permissionAllowed(permission, details.requestingUrl)));
  s.setPermissionCheckHandler((_wc, permission, requestingOrigin) => permissionAllowed(permission, requestingOrigin));
  // nothing from the network: the renderer talks to the engine only through the bridge
  s.webRequest.onBeforeRequest((details, callback) => {
    const allowed =
      details.url.startsWith(`${APP_SCHEME}:`) ||
      details.url.startsWith('data:') ||
      details.url.startsWith('blob:') ||
      details.url.startsWith('devtools:');
    callback({ cancel: !allowed });
  });
}

function createWindow(route: string): BrowserWindow {
  const w = new BrowserWindow({
    width: 1100,
    height: 720,
    minWidth: 720,
    minHeight: 480,
    show: false,
    title: 'Peerfold',
    icon: process.platform === 'linux' ? join(paths.assets, 'icons', '256x256.png') : undefined,
    webPreferences: secureWebPreferences(paths.preload, { devTools: !app.isPackaged }),
  });
  if (process.platform !== 'darwin') w.removeMenu();
  w.once('ready-to-show', () => w.show());
  w.on('close', (e) => {
    // closing the window keeps Peerfold running in the tray
    if (!quitting) {
      e.preventDefault();
      w.hide();
    }
  });
  w.on('closed', () => {
    if (win === w) win = null;
  });
  const wc = w.webContents;
  wc.on('will-navigate', (e, url) => {
    if (!navigationAllowed(url)) e.preventDefault();
  });
  wc.on('will-redirect', (e, url) => {
    if (!navigationAllowed(url)) e.preventDefault();
  });
  wc.on('will-attach-webview', (e) => e.preventDefault());
  wc.setWindowOpenHandler(({ url }) => {
    if (windowOpenDecision(url) === 'external') void shell.openExternal(url);
    return { action: 'deny' };
  });
  void w.loadURL(appEntryUrl(route));
  return w;
}

function showWindow(route?: string): void {
  if (!app.isReady()) return;
  if (!win || win.isDestroyed()) {
    win = createWindow(route ?? '');
    return;
  }
  if (route) void win.webContents.executeJavaScript(`location.hash = ${JSON.stringify(safeRoute(route))}`).catch(() => {});
  if (win.isMinimized()) win.restore();
  win.show();
  win.focus();
}

// --- IPC -------------------------------------------------------------------------------------

function trusted(e: IpcMainInvokeEvent): boolean {
  return isTrustedSender(e.senderFrame?.url);
}

function registerIpc(): void {
  ipcMain.handle(CALL_CHANNEL, async (e, method: unknown, params: unknown): Promise<CallReply> => {
    if (!trusted(e)) return replyError({ code: 'refused', message: 'calls are accepted from the Peerfold window only' });
    if (!engine) return replyError({ code: 'internal', message: engineError ?? 'the engine is still starting; try again in a moment' });
    const { reply, effects } = await handleCall(engine, validateParams, method, params);
    applyEffects(effects);
    return reply;
  });
  ipcMain.handle(PICK_FOLDER_CHANNEL, async (e): Promise<string | null> => {
    if (!trusted(e)) return null;
    return pickFolder();
  });
  ipcMain.handle(OPEN_PATH_CHANNEL, async (e, path: unknown): Promise<CallReply> => {
    if (!trusted(e)) return replyError({ code: 'refused', message: 'calls are accepted from the Peerfold window only' });
    const plan = planOpenPath(
      path,
      (status?.shares ?? []).map((s) => s.path),
      process.platform,
    );
    if (!plan.ok) return { ok: false, error: plan.error };
    // a share's own folder that is not there says why (a join by invite makes it once granted)
    const root = status?.shares.find((s) => s.path === plan.path);
    const cannot = root && openFolder(root, folderOnDisk(root.path));
    if (cannot && !cannot.enabled) return replyError({ code: 'not-found', message: `“${root!.name}”: ${cannot.reason}` });
    try {
      if ((await stat(plan.path)).isDirectory()) {
        const problem = await shell.openPath(plan.path);
        if (problem) return replyError({ code: 'internal', message: problem });
      } else {
        // a file is shown in its folder, never opened: opening could run it
        shell.showItemInFolder(plan.path);
      }
      return { ok: true, result: null };
    } catch (err) {
      return replyError({ code: 'not-found', message: `${plan.path} does not exist (${(err as Error).message})` });
    }
  });
}

async function pickFolder(): Promise<string | null> {
  const opts = { title: 'Choose a folder', properties: ['openDirectory', 'createDirectory'] as ('openDirectory' | 'createDirectory')[] };
  const r = win && win.isVisible() ? await dialog.showOpenDialog(win, opts) : await dialog.showOpenDialog(opts);
  return r.canceled ? null : (r.filePaths[0] ?? null);
}

function applyEffects(effects: ShellEffect[]): void {
  for (const fx of effects) {
    if (fx.kind === 'quit') app.quit();
    if (fx.kind === 'startAtLogin') {
      if (settings) settings = { ...settings, startAtLogin: fx.enabled };
      applyLoginItem(fx.enabled);
      refreshTray();
    }
  }
}

function applyLoginItem(enabled: boolean): void {
  const plan = loginItemPlan(enabled, {
    platform: process.platform,
    execPath: process.execPath,
    appArgs: app.isPackaged ? [] : [appRoot],
    env: process.env,
    homeDir: homedir(),
    home: args.home,
  });
  try {
    if (plan.kind === 'electron') app.setLoginItemSettings(plan.settings);
    else if (plan.content === null) rmSync(plan.file, { force: true });
    else {
      mkdirSync(dirname(plan.file), { recursive: true });
      writeFileSync(plan.file, plan.content);
    }
  } catch (err) {
    showNotice({ kind: 'error', title: 'Start at login could not be changed', body: (err as Error).message, route: '#/settings' });
  }
}

// --- tray ------------------------------------------------------------------------------------

let lastTray = '';

function trayImage(file: string): Electron.NativeImage {
  return nativeImage.createFromPath(join(paths.assets, file));
}

function refreshTray(): void {
  if (!tray) return;
  const folders = new Map((status?.shares ?? []).map((s) => [s.path, folderOnDisk(s.path)]));
  const view = trayView(
    { status, engineError, startAtLogin: settings?.startAtLogin ?? false, canStartAtLogin: true, folders },
    process.platform,
  );
  // status events come often while syncing; rebuild only what changed
  const key = JSON.stringify(view);
  if (key === lastTray) return;
  lastTray = key;
  tray.setImage(trayImage(view.icon));
  tray.setToolTip(view.tooltip);
  tray.setContextMenu(Menu.buildFromTemplate(view.menu.map(menuItem)));
}

function menuItem(item: TrayMenuItem): MenuItemConstructorOptions {
  switch (item.kind) {
    case 'status':
      return { label: item.label, enabled: false };
    case 'separator':
      return { type: 'separator' };
    case 'action':
      return { label: item.label, enabled: item.enabled, click: () => void onTrayAction(item.action) };
    case 'folder':
      return { label: item.label, enabled: item.enabled, click: () => void openFolderFromTray(item.path) };
    case 'checkbox':
      return {
        type: 'checkbox',
        label: item.label,
        checked: item.checked,
        enabled: item.enabled,
        click: () => void onTrayAction(item.action),
      };
  }
}

function folderOnDisk(path: string): FolderOnDisk {
  try {
    return statSync(path).isDirectory() ? 'folder' : 'file';
  } catch {
    return 'missing';
  }
}

async function openFolderFromTray(path: string): Promise<void> {
  // the folder was there when the menu was built; say so if it went since
  const problem = await shell.openPath(path);
  if (problem) showNotice({ kind: 'error', title: 'The folder could not be opened', body: problem, route: '#/' });
}

async function onTrayAction(action: TrayAction): Promise<void> {
  try {
    switch (action) {
      case 'open':
        return showWindow();
      case 'join':
        return showWindow('#/join');
      case 'share': {
        if (!engine) return;
        const path = await pickFolder();
        if (!path) return;
        const { share } = await engine.call('share', { path });
        return showWindow(`#/shares/${encodeURIComponent(share.id)}`);
      }
      case 'pause-all':
        await engine?.call('pause', {});
        return;
      case 'resume-all':
        await engine?.call('resume', {});
        return;
      case 'toggle-start-at-login': {
        if (!engine) return;
        const next = await engine.call('setSettings', { startAtLogin: !(settings?.startAtLogin ?? false) });
        settings = next;
        applyEffects([{ kind: 'startAtLogin', enabled: next.startAtLogin }]);
        return;
      }
      case 'quit':
        app.quit();
        return;
    }
  } catch (err) {
    showNotice({ kind: 'error', title: 'Peerfold', body: err instanceof Error ? err.message : String(err), route: '#/' });
  }
}

// --- notifications ---------------------------------------------------------------------------

function showNotice(n: Notice): void {
  if (!Notification.isSupported()) return;
  const note = new Notification({ title: n.title, body: n.body, icon: join(paths.assets, 'icons', '256x256.png') });
  // keep a reference until it is gone, or its click handler may be collected; some Linux
  // notification servers never report 'close', so only the newest few are kept
  shownNotifications.add(note);
  if (shownNotifications.size > 20) shownNotifications.delete(shownNotifications.values().next().value!);
  note.on('click', () => showWindow(n.route));
  note.on('close', () => shownNotifications.delete(note));
  note.show();
}

function notifyMemoryFile(): string {
  return join(app.getPath('userData'), 'notifications.json');
}

function loadNotifyMemory(): NotifyMemory {
  try {
    return parseNotifyMemory(readFileSync(notifyMemoryFile(), 'utf8'));
  } catch {
    return emptyNotifyMemory();
  }
}

let lastSavedMemory = '';

function saveNotifyMemory(memory: NotifyMemory): void {
  const text = serializeNotifyMemory(memory);
  if (text === lastSavedMemory) return;
  lastSavedMemory = text;
  try {
    mkdirSync(dirname(notifyMemoryFile()), { recursive: true });
    writeFileSync(notifyMemoryFile(), text);
  } catch (err) {
    console.error('peerfold: could not save notification memory', err);
  }
}
