// The sandboxed preload: exposes exactly one typed API, two channels, nothing of Node or Electron.

import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { Result } from '../../shared/result.js';
import {
  EVENT_NAMES,
  IPC_EVENT_CHANNEL,
  IPC_INVOKE_CHANNEL,
  isInvokeMethod,
  type EventName,
  type ImportOutcome,
  type StudioApi,
} from '../../shared/contract.js';

const api: StudioApi = {
  invoke(method, params) {
    if (!isInvokeMethod(method)) return Promise.reject(new Error(`unknown method ${String(method)}`));
    return ipcRenderer.invoke(IPC_INVOKE_CHANNEL, method, params);
  },
  on(event, listener) {
    if (!EVENT_NAMES.includes(event)) throw new Error(`unknown event ${String(event)}`);
    const handler = (_e: IpcRendererEvent, name: EventName, payload: unknown): void => {
      if (name === event) listener(payload as never);
    };
    ipcRenderer.on(IPC_EVENT_CHANNEL, handler);
    return () => void ipcRenderer.off(IPC_EVENT_CHANNEL, handler);
  },
  async importLoras(files) {
    // Dropped files are imported by path: main reads them itself, nothing large crosses IPC.
    const outcomes: ImportOutcome[] = [];
    for (const file of files) {
      const path = webUtils.getPathForFile(file as File);
      const r = (await ipcRenderer.invoke(IPC_INVOKE_CHANNEL, 'library.importLora', { path })) as Result<ImportOutcome>;
      outcomes.push(r.ok ? r.value : { ok: false, file: (file as File).name, error: r.error });
    }
    return outcomes;
  },
};

contextBridge.exposeInMainWorld('studio', api);
