// The desktop wiring against the real Studio, worker process, database and files. Only the Electron binary
// cannot exist here (ELECTRON_SKIP_BINARY_DOWNLOAD): a stand-in records windows, menus and dialogs,
// serves the registered protocols to Request objects the way Chromium would, forks the worker with
// Node instead of utilityProcess, and runs app.quit() through 'before-quit' as Electron does.
// `npm run test:electron` runs the same wiring in the real binary where one is installed.

import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../shared/contract.js';
import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL } from '../../shared/ipc-channels.js';
import type { Result } from '../../shared/result.js';
import { appRoot } from '../paths.js';
import { nodeWorkerSpawner } from '../worker-host/worker-handle.js';
import { chromiumProfileDir, unpackedPath } from './desktop-paths.js';
import { runDesktop, startupText, type DesktopElectron, type DesktopWindow, type DesktopWindowOptions } from './desktop.js';
import { menuTemplate, rolesOf, type MenuItemTemplate } from './menu.js';

interface Recorded {
  readonly windows: StandInWindow[];
  readonly errorBoxes: { title: string; content: string }[];
  readonly messageBoxes: { message: string; buttons: string[] }[];
  menu: MenuItemTemplate[] | undefined;
  userData: string | undefined;
  quitCalls: number;
  exitCode: number | undefined;
  readonly handlers: Map<string, (request: Request) => Response | Promise<Response>>;
  invoke: ((event: { sender: unknown; senderFrame?: { url: string } | null }, ...args: unknown[]) => unknown) | undefined;
  readonly sent: { channel: string; args: unknown[] }[];
  focused: number;
  /** Emits an app event as Electron would; true when a listener called preventDefault. */
  emit: (name: string) => boolean;
}

class StandInWindow implements DesktopWindow {
  loaded: string | undefined;
  shown = false;
  constructor(
    readonly options: DesktopWindowOptions,
    private readonly rec: Recorded,
  ) {}
  readonly webContents = {
    send: (channel: string, ...args: unknown[]) => void this.rec.sent.push({ channel, args }),
    setWindowOpenHandler: () => undefined,
    on: () => undefined,
  };
  async loadURL(url: string): Promise<unknown> {
    // As Chromium does: the page comes through the registered protocol handler.
    const scheme = new URL(url).protocol.slice(0, -1);
    const res = await this.rec.handlers.get(scheme)!(new Request(url));
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
    this.loaded = url;
    return undefined;
  }
  show(): void {
    this.shown = true;
  }
  isDestroyed(): boolean {
    return false;
  }
  isMinimized(): boolean {
    return false;
  }
  restore(): void {}
  focus(): void {
    this.rec.focused++;
  }
}

/** Electron, stood in for: the one part of the desktop app that cannot run here. */
function standIn(o: { singleInstance?: boolean; packaged?: boolean; locale?: string; choice?: number } = {}): { electron: DesktopElectron; rec: Recorded } {
  const listeners = new Map<string, ((event: { preventDefault(): void }) => void)[]>();
  const emit = (name: string) => {
    let prevented = false;
    for (const l of listeners.get(name) ?? []) l({ preventDefault: () => (prevented = true) });
    return prevented;
  };
  const rec: Recorded = { windows: [], errorBoxes: [], messageBoxes: [], menu: undefined, userData: undefined, quitCalls: 0, exitCode: undefined, handlers: new Map(), invoke: undefined, sent: [], focused: 0, emit };
  const BrowserWindow = class extends StandInWindow {
    constructor(options: DesktopWindowOptions) {
      super(options, rec);
      rec.windows.push(this);
    }
    static fromWebContents(contents: unknown): unknown {
      return rec.windows.find((w) => w.webContents === contents) ?? null;
    }
  };
  const electron: DesktopElectron = {
    app: {
      isPackaged: o.packaged ?? false,
      requestSingleInstanceLock: () => o.singleInstance ?? true,
      whenReady: () => Promise.resolve(),
      getLocale: () => o.locale ?? 'en-US',
      getPath: () => tmpdir(),
      setPath: (_name: string, path: string) => void (rec.userData = path),
      on: (event: string, listener: (event: { preventDefault(): void }) => void) => void listeners.set(event, [...(listeners.get(event) ?? []), listener]),
      quit: () => {
        rec.quitCalls++;
        emit('before-quit');
      },
      exit: (code?: number) => void (rec.exitCode = code ?? 0),
    },
    protocol: { registerSchemesAsPrivileged: () => undefined, handle: (scheme, handler) => void rec.handlers.set(scheme, handler) },
    net: { fetch: async (url: string) => new Response(await readFile(fileURLToPath(url))) },
    ipcMain: { handle: (channel, listener) => void (channel === IPC_INVOKE_CHANNEL && (rec.invoke = listener)) },
    BrowserWindow,
    Menu: { buildFromTemplate: (t: never[]) => t, setApplicationMenu: (m: unknown) => void (rec.menu = m as MenuItemTemplate[]) },
    shell: { trashItem: () => Promise.resolve(), showItemInFolder: () => undefined, openExternal: () => Promise.resolve() },
    dialog: {
      showErrorBox: (title, content) => void rec.errorBoxes.push({ title, content }),
      showMessageBoxSync: (m) => (rec.messageBoxes.push({ message: m.message, buttons: m.buttons }), o.choice ?? 1),
      showOpenDialog: () => Promise.resolve({ canceled: true, filePaths: [] }),
    },
  };
  return { electron, rec };
}

const root = appRoot();
const options = (dataDir: string) => ({
  spawnWorker: (entry: string) => nodeWorkerSpawner(entry, { ...process.env, STUDIO_THREADS: '2' }),
  env: { ...process.env, STUDIO_DATA_DIR: dataDir, HF_HUB_CACHE: join(dataDir, 'no-hf-cache') },
  resourcesPath: root,
});

describe('the desktop app, with the Electron binary stood in for', () => {
  it('opens one sandboxed window on the app protocol, makes an image through IPC and the real worker, serves it, and closes the studio on Quit', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'desktop-'));
    const { electron, rec } = standIn({ packaged: true });
    const run = await runDesktop(electron, options(dataDir));
    expect(run).toBeDefined();
    const win = rec.windows[0]!;
    expect(rec.windows).toHaveLength(1);
    expect(win.loaded).toBe('studio-app://app/index.html');
    expect(win.shown).toBe(true);
    expect(win.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false });
    expect(statSync(win.options.webPreferences.preload).isFile()).toBe(true);
    // Chromium's profile is not in the data folder; a packaged app's menu has no developer items.
    expect(rec.userData).toBeDefined();
    expect(rec.userData!.startsWith(dataDir)).toBe(false);
    expect(rolesOf(rec.menu!)).not.toEqual(expect.arrayContaining(['toggleDevTools']));
    expect(rolesOf(rec.menu!)).not.toContain('forceReload');
    expect(rolesOf(rec.menu!)).toContain('quit');

    // The renderer's calls arrive over IPC from the window's frame; others are refused.
    const event = { sender: win.webContents, senderFrame: { url: 'studio-app://app/index.html' } };
    const invoke = (method: string, params: unknown) => rec.invoke!(event, method, params) as Promise<Result<unknown>>;
    expect(await invoke('app.info', {})).toMatchObject({ ok: true, value: { host: 'electron' } });
    expect(await rec.invoke!({ sender: {}, senderFrame: { url: 'https://evil.example/' } }, 'app.info', {})).toMatchObject({ ok: false, error: { code: 'invalid-request' } });
    const started = (await invoke('generate.start', { prompt: 'a lighthouse', seed: 3, steps: 1, width: 256, height: 256, format: 'png' })) as Result<{ jobId: string }>;
    expect(started.ok).toBe(true);
    const jobId = started.ok ? started.value.jobId : '';
    await expect
      .poll(() => rec.sent.some((s) => s.channel === IPC_EVENT_CHANNEL && s.args[0] === 'job' && (s.args[1] as JobEvent).type === 'succeeded' && (s.args[1] as JobEvent).jobId === jobId), { timeout: 30_000 })
      .toBe(true);
    const done = rec.sent.map((s) => s.args[1] as JobEvent).find((e) => e.type === 'succeeded' && e.jobId === jobId);
    const thumbUrl = done?.type === 'succeeded' ? done.generation.thumbUrl : '';
    expect(thumbUrl).toMatch(/^studio-file:\/\/thumbs\//);
    const thumb = await rec.handlers.get('studio-file')!(new Request(thumbUrl));
    expect(thumb.status).toBe(200);
    expect((await thumb.arrayBuffer()).byteLength).toBeGreaterThan(100);
    expect((await rec.handlers.get('studio-file')!(new Request('studio-file://thumbs/..%2F..%2Fstudio.db'))).status).toBe(404);
    // A second launch (Electron tells the first instance) brings this window forward.
    rec.emit('second-instance');
    expect(rec.focused).toBe(1);

    // Quit from the menu is app.quit(): the studio closes (worker stopped, database closed) before the app ends.
    const workerPid = run!.studio.supervisor.pid;
    expect(workerPid).toBeDefined();
    electron.app.quit();
    await run!.closed;
    expect(run!.studio.supervisor.pid).toBeUndefined();
    expect(() => run!.studio.db.prepare('SELECT 1').get()).toThrow(/not open/);
    expect(() => process.kill(workerPid!, 0)).toThrow();
    await expect.poll(() => rec.quitCalls).toBe(2); // the menu's, then the real one once closed
  });

  it('a second launch does not open a second studio: it quits at once and the first window comes forward', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'desktop-second-'));
    const { electron, rec } = standIn({ singleInstance: false });
    expect(await runDesktop(electron, options(dataDir))).toBeUndefined();
    expect(rec.quitCalls).toBe(1);
    expect(rec.windows).toEqual([]);
    expect(() => statSync(join(dataDir, 'studio.db'))).toThrow();
  });

  it('a start that fails (a database from a newer studio) shows why in a dialog and exits: no process without a window', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'desktop-newer-'));
    const db = new Database(join(dataDir, 'studio.db'));
    db.pragma('user_version = 99');
    db.close();
    const { electron, rec } = standIn({ locale: 'zh-CN' });
    expect(await runDesktop(electron, options(dataDir))).toBeUndefined();
    expect(rec.exitCode).toBe(1);
    expect(rec.windows).toEqual([]);
    expect(rec.errorBoxes).toEqual([{ title: '工作室无法启动', content: expect.stringContaining('由更新版本的工作室写入（架构 99') }]);
  });

  it('a damaged database offers Repair: the damaged file is kept, the studio opens with what could be read', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'desktop-damaged-'));
    const garbage = Buffer.alloc(8192, 0x5a);
    writeFileSync(join(dataDir, 'studio.db'), garbage);
    const quit = standIn({ choice: 1 });
    expect(await runDesktop(quit.electron, options(dataDir))).toBeUndefined();
    expect(quit.rec.exitCode).toBe(1);
    expect(quit.rec.messageBoxes[0]).toMatchObject({ message: expect.stringContaining('is damaged (file is not a database)'), buttons: ['Repair', 'Quit'] });
    expect(readFileSync(join(dataDir, 'studio.db')).equals(garbage)).toBe(true);

    const repair = standIn({ choice: 0 });
    const run = await runDesktop(repair.electron, options(dataDir));
    try {
      expect(run).toBeDefined();
      expect(repair.rec.messageBoxes[1]?.message).toMatch(/The damaged database is kept as .*studio\.db\.corrupt-/);
      const kept = repair.rec.messageBoxes[1]!.message.match(/kept as (\S+studio\.db\.corrupt-\S+Z)\./)![1]!;
      expect(readFileSync(kept).equals(garbage)).toBe(true);
      expect(repair.rec.windows).toHaveLength(1);
    } finally {
      repair.electron.app.quit();
      await run?.closed;
    }
  });

  it('renders startup messages in the system language', () => {
    expect(startupText({ key: 'dialog.repair' }, 'zh-CN')).toBe('修复');
    expect(startupText({ key: 'dialog.repair' }, 'en-GB')).toBe('Repair');
  });
});

describe('desktop paths and menu', () => {
  it('keeps Chromium\'s profile out of the data folder on every platform', () => {
    const cases: [NodeJS.Platform, NodeJS.ProcessEnv, string, string][] = [
      ['win32', { APPDATA: 'C:\\Users\\a\\AppData\\Roaming', LOCALAPPDATA: 'C:\\Users\\a\\AppData\\Local' }, 'C:\\Users\\a', 'C:\\Users\\a\\AppData\\Roaming\\Studio'],
      ['darwin', {}, '/Users/a', '/Users/a/Library/Application Support/Studio'],
      ['linux', {}, '/home/a', '/home/a/.local/share/studio'],
      ['linux', { XDG_CONFIG_HOME: '/data' }, '/home/a', '/data/Studio'],
    ];
    for (const [platform, env, home, dataDir] of cases) {
      const profile = chromiumProfileDir(platform, env, home, dataDir);
      expect(profile.startsWith(dataDir + (platform === 'win32' ? '\\' : '/')), `${platform}: ${profile}`).toBe(false);
      expect(profile).not.toBe(dataDir);
    }
  });

  it('finds a packaged app\'s unpacked worker beside the archive', () => {
    expect(unpackedPath('/opt/Studio/resources/app.asar/dist/app/worker/worker-main.js', '/')).toBe('/opt/Studio/resources/app.asar.unpacked/dist/app/worker/worker-main.js');
    expect(unpackedPath('C:\\Studio\\resources\\app.asar\\dist\\w.js', '\\')).toBe('C:\\Studio\\resources\\app.asar.unpacked\\dist\\w.js');
    expect(unpackedPath('/repo/dist/app/worker/worker-main.js', '/')).toBe('/repo/dist/app/worker/worker-main.js');
  });

  it('offers the developer items only when running from a checkout', () => {
    expect(rolesOf(menuTemplate(false, 'linux'))).toEqual(expect.arrayContaining(['reload', 'forceReload', 'toggleDevTools', 'quit']));
    for (const platform of ['linux', 'win32', 'darwin'] as const) {
      const roles = rolesOf(menuTemplate(true, platform));
      expect(roles.filter((r) => ['reload', 'forceReload', 'toggleDevTools'].includes(r))).toEqual([]);
    }
  });

  it('the sandboxed preload is a few kilobytes, with nothing of zod in it', () => {
    const preload = readFileSync(join(root, 'dist', 'app', 'main', 'electron', 'preload.cjs'), 'utf8');
    expect(preload.length).toBeLessThan(8 * 1024);
    expect(preload).not.toMatch(/zod|ZodError/);
    expect(preload).toContain('studio:invoke');
  });
});
