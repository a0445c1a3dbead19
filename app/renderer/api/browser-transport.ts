// The browser host's side of the contract: invoke and events over one WebSocket to 127.0.0.1.

import type { EventName, EventPayloads, ImportOutcome, StudioApi, WireToRenderer } from '../../shared/contract.js';
import { notice } from '../../shared/notices.js';
import { fail, StudioError, type Result } from '../../shared/result.js';

export function connectBrowserHost(url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api`): StudioApi {
  let nextId = 1;
  const pending = new Map<number, (r: Result<unknown>) => void>();
  const listeners = new Map<EventName, Set<(payload: never) => void>>();
  let socket: WebSocket | undefined;
  let opened: Promise<WebSocket> | undefined;
  let retryMs = 250;

  const connect = (): Promise<WebSocket> => {
    opened ??= new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => {
        socket = ws;
        retryMs = 250;
        resolve(ws);
      };
      ws.onmessage = (e) => {
        const msg = JSON.parse(String(e.data)) as WireToRenderer;
        if (msg.kind === 'result') {
          pending.get(msg.id)?.(msg.result);
          pending.delete(msg.id);
        } else {
          for (const l of listeners.get(msg.name) ?? []) l(msg.payload as never);
        }
      };
      ws.onclose = () => {
        socket = undefined;
        opened = undefined;
        // Calls in flight cannot be answered any more; say so instead of hanging.
        for (const [id, settle] of pending) {
          settle(fail('worker-unavailable', notice('error.connectionLost')));
          pending.delete(id);
        }
        reject(new Error('connection closed'));
        if (listeners.size > 0) {
          setTimeout(() => void connect().catch(() => undefined), retryMs);
          retryMs = Math.min(retryMs * 2, 5000);
        }
      };
    });
    return opened;
  };

  return {
    async invoke(method, params) {
      let ws: WebSocket;
      try {
        ws = socket ?? (await connect());
      } catch {
        return fail('worker-unavailable', notice('error.studioUnreachable'));
      }
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve as (r: Result<unknown>) => void);
        ws.send(JSON.stringify({ kind: 'invoke', id, method, params }));
      });
    },
    async importLoras(files) {
      const outcomes: ImportOutcome[] = [];
      for (const file of files as File[]) {
        try {
          const res = await fetch(`/upload/lora?name=${encodeURIComponent(file.name)}`, { method: 'POST', body: file, credentials: 'same-origin' });
          outcomes.push((await res.json()) as ImportOutcome);
        } catch (e) {
          outcomes.push({ ok: false, file: file.name, error: new StudioError('storage-failed', notice('error.uploadFailed', { name: file.name }), (e as Error).message).toJSON() });
        }
      }
      return outcomes;
    },
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const l = listener;
      set.add(l);
      void connect().catch(() => undefined);
      return () => void set.delete(l);
    },
  };
}
