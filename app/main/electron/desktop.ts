// The desktop app's composition root: window, menu, protocols, IPC and the app's life cycle around the
// plain-Node Studio. Electron comes in as an argument (electron-main.ts passes the real module), so the
// wiring runs in tests against the real Studio, worker, database and files with only the Electron binary
// stood in for.

import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL } from '../../shared/ipc-channels.js';
import { NOTICES, notice, noticeText, type Notice } from '../../shared/notices.js';
import { STARTUP_NOTICES_ZH } from '../../shared/notices-startup-zh.js';
import { fail, StudioError } from '../../shared/result.js';
import { createDispatch } from '../api-dispatch.js';
import { forwardStudioEvents } from '../host/event-forwarding.js';
import { decodePathSegments, unsafeSegment } from '../host/routes.js';
import { studioFileFromUrlPath } from '../host/studio-files.js';
import { appRoot, appVersion, builtInDemoModelDir, confinedPath, dataLayout, defaultDataDir, workerEntry } from '../paths.js';
import { repairDatabase } from '../store/repair.js';
import { Studio } from '../studio.js';
import type { SpawnWorker } from '../worker-host/worker-handle.js';
import { chromiumProfileDir, unpackedPath } from './desktop-paths.js';
import { menuTemplate } from './menu.js';

export const APP_SCHEME = 'studio-app';
export const FILE_SCHEME = 'studio-file';

/** What the desktop wiring uses of Electron: the real module satisfies it, a test stands in for the binary. */
export interface DesktopElectron {
  readonly app: {
    readonly isPackaged: boolean;
    requestSingleInstanceLock(): boolean;
    whenReady(): Promise<unknown>;
    getLocale(): string;
    getPath(name: 'appData'): string;
    setPath(name: 'userData', path: string): void;
    on(event: 'second-instance' | 'window-all-closed', listener: () => void): unknown;
    on(event: 'before-quit', listener: (event: { preventDefault(): void }) => void): unknown;
    quit(): void;
    exit(code?: number): void;
  };
  readonly protocol: {
    registerSchemesAsPrivileged(schemes: { scheme: string; privileges: Record<string, boolean> }[]): void;
    handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void;
  };
  readonly net: { fetch(url: string): Promise<Response> };
  readonly ipcMain: {
    handle(channel: string, listener: (event: { sender: unknown; senderFrame?: { url: string } | null }, ...args: unknown[]) => unknown): void;
  };
  readonly BrowserWindow: {
    new (options: DesktopWindowOptions): DesktopWindow;
    fromWebContents(contents: never): unknown;
  };
  readonly Menu: { buildFromTemplate(template: never[]): unknown; setApplicationMenu(menu: unknown): void };
  readonly shell: { trashItem(path: string): Promise<void>; showItemInFolder(path: string): void; openExternal(url: string): Promise<void> };
  readonly dialog: {
    showErrorBox(title: string, content: string): void;
    showMessageBoxSync(options: { type: 'error'; title: string; message: string; detail?: string; buttons: string[]; defaultId: number; cancelId: number }): number;
    showOpenDialog(options: { properties: ['openDirectory'] }): Promise<{ canceled: boolean; filePaths: string[] }>;
  };
}

export interface DesktopWindowOptions {
  readonly width: number;
  readonly height: number;
  readonly title: string;
  readonly show: boolean;
  readonly webPreferences: { preload: string; contextIsolation: true; sandbox: true; nodeIntegration: false; webSecurity: true };
}

export interface DesktopWindow {
  readonly webContents: {
    send(channel: string, ...args: unknown[]): void;
    setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
    on(event: 'will-navigate', listener: (event: { preventDefault(): void }, url: string) => void): unknown;
  };
  loadURL(url: string): Promise<unknown>;
  show(): void;
  isDestroyed(): boolean;
  isMinimized(): boolean;
  restore(): void;
  focus(): void;
}

export interface DesktopOptions {
  /** Starts the worker the Electron way (utilityProcess); tests pass a Node child process. */
  readonly spawnWorker: (entry: string) => SpawnWorker;
  readonly env?: NodeJS.ProcessEnv;
  readonly platform?: NodeJS.Platform;
  /** process.resourcesPath in a packaged app: the demo model sits there, beside app.asar. */
  readonly resourcesPath?: string;
}

export interface DesktopRun {
  readonly studio: Studio;
  readonly window: DesktopWindow;
  /** Settles when the studio has closed (the app then quits). */
  readonly closed: Promise<void>;
}

/** A notice in the system language: the few the app shows before its window exists have Chinese in app/shared. */
export function startupText(n: Notice, locale: string): string {
  return noticeText(n, locale.toLowerCase().startsWith('zh') ? { ...NOTICES, ...STARTUP_NOTICES_ZH } : NOTICES);
}

/** Registers the app's schemes; must run before the app is ready. */
export function registerSchemes(e: Pick<DesktopElectron, 'protocol'>): void {
  e.protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
    { scheme: FILE_SCHEME, privileges: { standard: true, secure: true } },
  ]);
}

function openStudio(e: DesktopElectron, o: DesktopOptions): Studio {
  const root = appRoot();
  const env = o.env ?? process.env;
  return new Studio({
    dataDir: defaultDataDir(env, o.platform),
    appVersion: appVersion(root),
    // Packaged builds carry the demo model as an extra resource next to app.asar.
    demoModelDir: e.app.isPackaged && o.resourcesPath ? join(o.resourcesPath, 'models', 'demo') : builtInDemoModelDir(root),
    // The worker's code and the native modules it loads are unpacked from the archive (electron-builder.yml).
    spawnWorker: o.spawnWorker(e.app.isPackaged ? unpackedPath(workerEntry(root)) : workerEntry(root)),
    env,
  });
}

/**
 * Opens the studio, or says in a dialog why it cannot and returns undefined (the caller exits). A damaged
 * or lost database offers Repair: the damaged file is kept and a new history rebuilt, then the studio opens.
 */
function openOrExplain(e: DesktopElectron, o: DesktopOptions): Studio | undefined | Promise<Studio | undefined> {
  const locale = e.app.getLocale();
  const title = startupText(notice('dialog.startFailed'), locale);
  try {
    return openStudio(e, o);
  } catch (err) {
    const error = err instanceof StudioError ? err : new StudioError('internal', notice('error.internal', { message: err instanceof Error ? err.message : String(err) }));
    if (error.code !== 'database-corrupt' || !error.notice) {
      e.dialog.showErrorBox(title, startupText(error.notice ?? notice('error.internal', { message: error.message }), locale));
      return undefined;
    }
    const choice = e.dialog.showMessageBoxSync({
      type: 'error',
      title,
      message: startupText(error.notice, locale),
      buttons: [startupText(notice('dialog.repair'), locale), startupText(notice('dialog.quit'), locale)],
      defaultId: 0,
      cancelId: 1,
    });
    if (choice !== 0) return undefined;
    const layout = dataLayout(defaultDataDir(o.env ?? process.env, o.platform));
    return repairDatabase(layout).then(
      (report) => {
        e.dialog.showMessageBoxSync({ type: 'error', title, message: startupText(notice('note.repair.done', { ...report }), locale), buttons: ['OK'], defaultId: 0, cancelId: 0 });
        return openOrExplain(e, o);
      },
      (repairError: unknown) => {
        e.dialog.showErrorBox(title, startupText(notice('error.internal', { message: repairError instanceof Error ? repairError.message : String(repairError) }), locale));
        return undefined;
      },
    );
  }
}

function isTrustedSender(e: DesktopElectron, sender: unknown, frameUrl: string | undefined): boolean {
  if (frameUrl === undefined) return false;
  try {
    return new URL(frameUrl).protocol === `${APP_SCHEME}:` && e.BrowserWindow.fromWebContents(sender as never) !== null;
  } catch {
    return false;
  }
}

/**
 * Runs the desktop app: one instance per user (a second launch focuses the first window), Chromium's
 * profile outside the data folder, a start that fails with a dialog and an exit (never a process
 * without a window), and every way of quitting (menu, last window, Ctrl+Q) closing the studio first.
 * Resolves undefined when this instance does not run (another one does, or start failed).
 */
export async function runDesktop(e: DesktopElectron, o: DesktopOptions): Promise<DesktopRun | undefined> {
  const env = o.env ?? process.env;
  const platform = o.platform ?? process.platform;
  registerSchemes(e);
  e.app.setPath('userData', chromiumProfileDir(platform, env, homedir(), defaultDataDir(env, platform)));
  if (!e.app.requestSingleInstanceLock()) {
    e.app.quit();
    return undefined;
  }
  await e.app.whenReady();
  const studio = await openOrExplain(e, o);
  if (!studio) {
    e.app.exit(1);
    return undefined;
  }

  let closing: Promise<void> | undefined;
  let closed = false;
  let markClosed: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (markClosed = resolve));
  // Every quit (the menu's Quit, Cmd+Q, the last window closed) passes here: close the worker and the
  // database first, then quit for real.
  e.app.on('before-quit', (event) => {
    if (closed) return;
    event.preventDefault();
    closing ??= studio
      .close()
      .catch((err: unknown) => console.error(`studio: closing failed: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => {
        closed = true;
        markClosed();
        // Next turn: whoever awaited `closed` runs first (the smoke test writes its report).
        setImmediate(() => e.app.quit());
      });
  });
  e.app.on('window-all-closed', () => e.app.quit());

  try {
    const root = appRoot();
    studio.setFileUrls({ image: (p) => `${FILE_SCHEME}://images/${p}`, thumb: (p) => `${FILE_SCHEME}://thumbs/${p}`, lora: (p) => `${FILE_SCHEME}://loras/${p}`, export: (p) => `${FILE_SCHEME}://exports/${p}` });
    await studio.loras.load();
    await studio.models.discover(studio.modelsDir);
    // The A1111-compatible API, when the user turned it on in the settings.
    await studio.api.restore();

    const rendererDir = join(root, 'dist', 'renderer');
    e.protocol.handle(APP_SCHEME, (req) => {
      const path = new URL(req.url).pathname;
      const segments = path === '/' ? ['index.html'] : decodePathSegments(path);
      const file = segments && !segments.some(unsafeSegment) ? confinedPath(rendererDir, segments.join('/')) : undefined;
      return file ? e.net.fetch(pathToFileURL(file).href) : new Response('Not found', { status: 404 });
    });
    // The same folders and path checks as the browser host's /files/ route (host/studio-files.ts).
    e.protocol.handle(FILE_SCHEME, (req) => {
      const url = new URL(req.url);
      const file = studioFileFromUrlPath(studio, url.host, url.pathname);
      return file ? e.net.fetch(pathToFileURL(file).href) : new Response('Not found', { status: 404 });
    });

    const pickFolder = async () => {
      const r = await e.dialog.showOpenDialog({ properties: ['openDirectory'] });
      return r.canceled ? null : (r.filePaths[0] ?? null);
    };
    const dispatch = createDispatch(studio, 'electron', (file) => e.shell.trashItem(file), (file) => e.shell.showItemInFolder(file), pickFolder);
    e.ipcMain.handle(IPC_INVOKE_CHANNEL, (event, method: unknown, params: unknown) => {
      if (!isTrustedSender(e, event.sender, event.senderFrame?.url)) return fail('invalid-request', notice('error.untrustedSender'));
      return dispatch(method, params);
    });

    const win = new e.BrowserWindow({
      width: 1400,
      height: 900,
      title: 'Studio',
      show: false,
      webPreferences: { preload: join(root, 'dist', 'app', 'main', 'electron', 'preload.cjs'), contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true },
    });
    const unsubscribe = forwardStudioEvents(studio, (name, payload) => {
      if (!win.isDestroyed()) win.webContents.send(IPC_EVENT_CHANNEL, name, payload);
    });
    void done.then(unsubscribe);
    // Links open in the user's browser, never inside the app window.
    win.webContents.setWindowOpenHandler(({ url }) => {
      if (url.startsWith('https://')) void e.shell.openExternal(url);
      return { action: 'deny' };
    });
    win.webContents.on('will-navigate', (event, url) => {
      if (!url.startsWith(`${APP_SCHEME}://`)) event.preventDefault();
    });
    e.app.on('second-instance', () => {
      if (win.isDestroyed()) return;
      if (win.isMinimized()) win.restore();
      win.focus();
    });
    e.Menu.setApplicationMenu(e.Menu.buildFromTemplate(menuTemplate(e.app.isPackaged, platform) as never[]));
    await win.loadURL(`${APP_SCHEME}://app/index.html`);
    win.show();
    studio.supervisor.start().catch((err: Error) => console.error(`studio: ${err.message}`));
    return { studio, window: win, closed: done };
  } catch (err) {
    // Past the database: still never a process without a window. Say why, close what is open, exit.
    e.dialog.showErrorBox(startupText(notice('dialog.startFailed'), e.app.getLocale()), startupText(err instanceof StudioError && err.notice ? err.notice : notice('error.internal', { message: err instanceof Error ? err.message : String(err) }), e.app.getLocale()));
    await studio.close().catch(() => undefined);
    e.app.exit(1);
    return undefined;
  }
}
