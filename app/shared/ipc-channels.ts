// The two Electron IPC channel names, in a module of their own: the sandboxed preload imports them
// without pulling in the contract's validators (zod), which run in main.

/** Renderer to main: one invoke channel carrying (method, params). */
export const IPC_INVOKE_CHANNEL = 'studio:invoke';
/** Main to renderer: one event channel carrying (name, payload). */
export const IPC_EVENT_CHANNEL = 'studio:event';
