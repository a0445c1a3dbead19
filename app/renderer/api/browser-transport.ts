// The browser host's side of the contract: invoke and events over one WebSocket to 127.0.0.1.
// The page holds the per-launch access token: it takes it from the link `studio serve` printed, keeps it
// in sessionStorage (scoped to this exact origin, port included, and to this tab) and sends it with each
// socket and upload. No cookie: a cookie for 127.0.0.1 would reach every other local port too.

import type { EventName, ImportOutcome, StudioApi, WireToRenderer } from '../../shared/contract.js';
import { notice, noticeText, type NoticeKey } from '../../shared/notices.js';
import { StudioError, type ErrorCode, type Result, type SerializedError } from '../../shared/result.js';

const TOKEN_KEY = 'studio.accessToken';
/** Must match the browser host's WS_PROTOCOL and WS_TOKEN_PROTOCOL_PREFIX. */
const WS_PROTOCOL = 'studio';
const WS_TOKEN_PROTOCOL_PREFIX = 'studio.token.';

function failure(code: ErrorCode, key: NoticeKey): SerializedError {
  const n = notice(key);
  return { code, message: noticeText(n), notice: n };
}

/** The token from the launch link (then removed from the address bar), else the one this tab kept. */
export function takeAccessToken(): string | undefined {
  const params = new URLSearchParams(location.search);
  const fromLink = params.get('token');
  if (fromLink) {
    sessionStorage.setItem(TOKEN_KEY, fromLink);
    params.delete('token');
    const rest = params.toString();
    history.replaceState(history.state, '', `${location.pathname}${rest ? `?${rest}` : ''}${location.hash}`);
    return fromLink;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function connectBrowserHost(url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api`, token = takeAccessToken()): StudioApi {
  let nextId = 1;
  const pending = new Map<number, (r: Result<unknown>) => void>();
  const listeners = new Map<EventName, Set<(payload: never) => void>>();
  let socket: WebSocket | undefined;
  let opened: Promise<WebSocket> | undefined;
  let retryMs = 250;

  const connect = (): Promise<WebSocket> => {
    if (!token) return Promise.reject(new Error('no access token'));
    opened ??= new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, [WS_PROTOCOL, `${WS_TOKEN_PROTOCOL_PREFIX}${token}`]);
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
          settle({ ok: false, error: failure('worker-unavailable', 'error.connectionLost') });
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
      if (!token) return { ok: false, error: failure('worker-unavailable', 'error.noAccessToken') };
      let ws: WebSocket;
      try {
        ws = socket ?? (await connect());
      } catch {
        return { ok: false, error: failure('worker-unavailable', 'error.hostUnreachable') };
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
        if (!token) {
          outcomes.push({ ok: false, file: file.name, error: failure('worker-unavailable', 'error.noAccessToken') });
          continue;
        }
        try {
          const res = await fetch(`/upload/lora?name=${encodeURIComponent(file.name)}`, {
            method: 'POST',
            body: file,
            headers: { Authorization: `Bearer ${token}` },
            credentials: 'omit',
          });
          if (res.status === 401) outcomes.push({ ok: false, file: file.name, error: failure('worker-unavailable', 'error.noAccessToken') });
          else if (!res.ok) outcomes.push({ ok: false, file: file.name, error: new StudioError('storage-failed', notice('error.uploadFailed', { name: file.name }), await res.text()).toJSON() });
          else outcomes.push((await res.json()) as ImportOutcome);
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
