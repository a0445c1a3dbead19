// Electron main: window, menu, protocols and IPC glue only; everything else is the plain-Node Studio.

import { app, BrowserWindow, dialog, ipcMain, Menu, net, protocol, shell, type WebContents } from 'electron';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL } from '../../shared/contract.js';
import { notice } from '../../shared/notices.js';
import { fail } from '../../shared/result.js';
import { createDispatch } from '../api-dispatch.js';
import { forwardStudioEvents } from '../host/event-forwarding.js';
import { decodePathSegments, unsafeSegment } from '../host/routes.js';
import { studioFileFromUrlPath } from '../host/studio-files.js';
import { appRoot, appVersion, builtInDemoModelDir, confinedPath, defaultDataDir, workerEntry } from '../paths.js';
import { Studio } from '../studio.js';
import { utilityWorkerSpawner } from './utility-worker.js';

const APP_SCHEME = 'studio-app';
const FILE_SCHEME = 'studio-file';

protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  { scheme: FILE_SCHEME, privileges: { standard: true, secure: true } },
]);

function isTrustedSender(sender: WebContents, frameUrl: string | undefined): boolean {
  return frameUrl !== undefined && new URL(frameUrl).protocol === `${APP_SCHEME}:` && BrowserWindow.fromWebContents(sender) !== null;
}

async function start(): Promise<void> {
  const root = appRoot();
  // Packaged builds carry the demo model as an extra resource next to app.asar.
  const demoDir = app.isPackaged ? join(process.resourcesPath, 'models', 'demo') : builtInDemoModelDir(root);
  const studio = new Studio({
    dataDir: defaultDataDir(),
    appVersion: appVersion(root),
    demoModelDir: demoDir,
    spawnWorker: utilityWorkerSpawner(workerEntry(root)),
  });
  studio.setFileUrls({ image: (p) => `${FILE_SCHEME}://images/${p}`, thumb: (p) => `${FILE_SCHEME}://thumbs/${p}`, lora: (p) => `${FILE_SCHEME}://loras/${p}`, export: (p) => `${FILE_SCHEME}://exports/${p}` });
  await studio.loras.load();
  await studio.models.discover(studio.modelsDir);
  // The A1111-compatible API, when the user turned it on in the settings.
  await studio.api.restore();

  const rendererDir = join(root, 'dist', 'renderer');
  protocol.handle(APP_SCHEME, (req) => {
    const path = new URL(req.url).pathname;
    const segments = path === '/' ? ['index.html'] : decodePathSegments(path);
    const file = segments && !segments.some(unsafeSegment) ? confinedPath(rendererDir, segments.join('/')) : undefined;
    return file ? net.fetch(pathToFileURL(file).href) : new Response('Not found', { status: 404 });
  });
  // The same folders and path checks as the browser host's /files/ route (host/studio-files.ts).
  protocol.handle(FILE_SCHEME, (req) => {
    const url = new URL(req.url);
    const file = studioFileFromUrlPath(studio, url.host, url.pathname);
    return file ? net.fetch(pathToFileURL(file).href) : new Response('Not found', { status: 404 });
  });

  const pickFolder = async () => {
    const r = await dialog.showOpenDialog({ properties: ['openDirectory'] });
    return r.canceled ? null : (r.filePaths[0] ?? null);
  };
  const dispatch = createDispatch(studio, 'electron', (file) => shell.trashItem(file), (file) => shell.showItemInFolder(file), pickFolder);
  ipcMain.handle(IPC_INVOKE_CHANNEL, (event, method: unknown, params: unknown) => {
    if (!isTrustedSender(event.sender, event.senderFrame?.url)) {
      return fail('invalid-request', notice('error.untrustedSender'));
    }
    return dispatch(method, params);
  });

  const win = new BrowserWindow({
    width: 1400,
    height: 900,
    title: 'Studio',
    webPreferences: {
      preload: join(root, 'dist', 'app', 'main', 'electron', 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  const unsubscribe = forwardStudioEvents(studio, (name, payload) => {
    if (!win.isDestroyed()) win.webContents.send(IPC_EVENT_CHANNEL, name, payload);
  });
  // Links open in the user's browser, never inside the app window.
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (e, url) => {
    if (!url.startsWith(`${APP_SCHEME}://`)) e.preventDefault();
  });
  Menu.setApplicationMenu(Menu.buildFromTemplate([{ role: 'fileMenu' }, { role: 'editMenu' }, { role: 'viewMenu' }, { role: 'windowMenu' }]));
  await win.loadURL(`${APP_SCHEME}://app/index.html`);
  studio.supervisor.start().catch((e: Error) => console.error(`studio: ${e.message}`));

  app.on('window-all-closed', () => {
    unsubscribe();
    void studio.close().finally(() => app.quit());
  });
}

app.whenReady().then(start, (e: unknown) => {
  console.error(e);
  app.exit(1);
});
