// Picks the host: the Electron preload's API when present, else the browser host's WebSocket. Same interface.

import type { StudioApi } from '../../shared/contract.js';
import { connectBrowserHost } from './browser-transport.js';

declare global {
  interface Window {
    readonly studio?: StudioApi;
  }
}

export function connectStudio(): StudioApi {
  return window.studio ?? connectBrowserHost();
}
