// The sandboxed preload: exposes exactly one typed API, two channels, nothing of Node or Electron. It
// stays a few kilobytes: only types come from the contract, and every call is validated in main (by the
// same zod schemas the browser host uses), so none of zod is bundled here.

import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { EventName, ImportOutcome, StudioApi } from '../../shared/contract.js';
import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL } from '../../shared/ipc-channels.js';
import type { Result } from '../../shared/result.js';

const api: StudioApi = {
  invoke(method, params) {
    // Main refuses unknown methods and invalid parameters with a typed error; this only keeps the shape.
    if (typeof method !== 'string') return Promise.reject(new Error('the method must be a string'));
    return ipcRenderer.invoke(IPC_INVOKE_CHANNEL, method, params);
  },
  on(event, listener) {
    if (typeof event !== 'string') throw new Error('the event name must be a string');
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
