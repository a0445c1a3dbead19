// Forwards the studio's events (jobs, downloads, exports) to a host's renderer: one table, so the browser
// host's WebSocket and Electron's IPC send exactly the same events, and a new event name that has no
// subscription here is a compile error.

import { EVENT_NAMES, type EventName, type EventPayloads } from '../../shared/contract.js';
import type { Studio } from '../studio.js';

export type SendEvent = <E extends EventName>(name: E, payload: EventPayloads[E]) => void;

const SUBSCRIPTIONS: { readonly [E in EventName]: (studio: Studio, listener: (payload: EventPayloads[E]) => void) => () => void } = {
  job: (studio, listener) => studio.jobs.onEvent(listener),
  download: (studio, listener) => studio.downloads.onChange(listener),
  export: (studio, listener) => studio.exports.onChange(listener),
  queue: (studio, listener) => studio.jobs.onQueueChange((items) => listener({ items })),
};

function subscribe<E extends EventName>(studio: Studio, name: E, send: SendEvent): () => void {
  return SUBSCRIPTIONS[name](studio, (payload) => send(name, payload));
}

/** Subscribes `send` to every studio event; returns the unsubscribe function. */
export function forwardStudioEvents(studio: Studio, send: SendEvent): () => void {
  const unsubscribers = EVENT_NAMES.map((name) => subscribe(studio, name, send));
  return () => {
    for (const u of unsubscribers) u();
  };
}
