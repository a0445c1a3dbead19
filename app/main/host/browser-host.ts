// The browser host: the same renderer and API over HTTP + WebSocket, on 127.0.0.1 only, behind a per-launch token.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { WireToRenderer } from '../../shared/contract.js';
import { notice } from '../../shared/notices.js';
import { StudioError } from '../../shared/result.js';
import { createDispatch } from '../api-dispatch.js';
import { confinedPath } from '../paths.js';
import type { Studio } from '../studio.js';

const COOKIE = 'studio_token';
/** LoRA files run to a few GB; anything far larger is not a LoRA. */
const MAX_UPLOAD_BYTES = 8 * 1024 ** 3;
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.ico': 'image/x-icon',
};
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

export interface BrowserHostOptions {
  readonly studio: Studio;
  /** The built renderer (index.html and assets/). */
  readonly rendererDir: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Fixed for tests; random per launch otherwise. */
  readonly token?: string;
}

export interface BrowserHost {
  readonly url: string;
  /** The URL to open: it hands the token to the browser, which keeps it in a same-site cookie. */
  readonly launchUrl: string;
  readonly token: string;
  close(): Promise<void>;
}

function sameToken(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
}

export async function startBrowserHost(options: BrowserHostOptions): Promise<BrowserHost> {
  const { studio, rendererDir } = options;
  const token = options.token ?? randomBytes(24).toString('base64url');
  const dispatch = createDispatch(studio, 'browser');
  studio.setFileUrls({ image: (p) => `/files/images/${p}`, thumb: (p) => `/files/thumbs/${p}`, lora: (p) => `/files/loras/${p}`, export: (p) => `/files/exports/${p}` });
  let port = 0;
  const allowedHosts = (): string[] => [`127.0.0.1:${port}`, `localhost:${port}`];

  const authorized = (req: IncomingMessage): boolean => {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    return sameToken(cookieToken(req), token) || sameToken(bearer, token);
  };

  const send = (res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): void => {
    res.writeHead(status, { 'Content-Type': type, ...SECURITY_HEADERS, ...extra });
    res.end(body);
  };

  const sendFile = (res: ServerResponse, file: string, cache: string): void => {
    res.writeHead(200, {
      'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': String(statSync(file).size),
      'Cache-Control': cache,
      ...SECURITY_HEADERS,
    });
    createReadStream(file).pipe(res);
  };

  const server: Server = createServer((req, res) => {
    // A page on another site cannot reach us through a DNS name that resolves to 127.0.0.1.
    if (!allowedHosts().includes(req.headers.host ?? '')) return send(res, 403, 'Forbidden host');
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    if (req.method === 'POST' && url.pathname === '/upload/lora') {
      // Same origin only (a cross-site form could otherwise post to 127.0.0.1), and the token.
      if (!authorized(req) || req.headers.origin !== `http://${req.headers.host}`) return send(res, 401, 'Unauthorized');
      return void receiveLora(req, res, url.searchParams.get('name') ?? 'upload.safetensors');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method not allowed');
    if (url.pathname === '/' && url.searchParams.has('token')) {
      if (!sameToken(url.searchParams.get('token') ?? undefined, token)) return send(res, 401, 'Wrong token: open the link that `studio serve` printed.');
      return send(res, 302, '', 'text/plain', {
        'Set-Cookie': `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`,
        Location: '/',
      });
    }
    if (!authorized(req)) return send(res, 401, 'Open the link that `studio serve` printed (it carries the access token).');
    if (url.pathname.startsWith('/files/')) {
      const [, , kind, ...rest] = url.pathname.split('/');
      const root = kind === 'images' ? studio.layout.images : kind === 'thumbs' ? studio.layout.thumbs : kind === 'loras' ? studio.loras.library.dir : kind === 'exports' ? join(studio.layout.root, 'exports') : undefined;
      const file = root && confinedPath(root, decodeURIComponent(rest.join('/')));
      if (!file) return send(res, 404, 'Not found');
      return sendFile(res, file, 'private, max-age=31536000, immutable');
    }
    const rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
    const file = confinedPath(rendererDir, rel);
    if (!file || !statSync(file).isFile()) return send(res, 404, 'Not found');
    return sendFile(res, file, rel === 'index.html' ? 'no-store' : 'private, max-age=3600');
  });

  /** Streams an upload to a temporary file in the data folder, imports it, and always removes the temporary file. */
  const receiveLora = async (req: IncomingMessage, res: ServerResponse, name: string) => {
    const uploads = join(studio.layout.root, 'uploads');
    await mkdir(uploads, { recursive: true });
    const tmp = join(uploads, `${randomBytes(8).toString('hex')}.upload`);
    let received = 0;
    try {
      await pipeline(
        req,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            received += chunk.length;
            if (received > MAX_UPLOAD_BYTES) throw new StudioError('invalid-request', notice('error.uploadTooLarge', { name, max: MAX_UPLOAD_BYTES / 1024 ** 3 }));
            yield chunk;
          }
        },
        createWriteStream(tmp),
      );
      const outcome = await studio.loras.import(tmp, name.slice(0, 255));
      send(res, 200, JSON.stringify(outcome), 'application/json');
    } catch (e) {
      const error = e instanceof StudioError ? e.toJSON() : new StudioError('storage-failed', notice('error.uploadFailed', { name }), (e as Error).message).toJSON();
      send(res, 200, JSON.stringify({ ok: false, file: name, error }), 'application/json');
    } finally {
      await rm(tmp, { force: true });
    }
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const originOk = [`http://127.0.0.1:${port}`, `http://localhost:${port}`].includes(req.headers.origin ?? '');
    if (!allowedHosts().includes(req.headers.host ?? '') || !originOk || !authorized(req) || !req.url?.startsWith('/api')) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('message', (data) => {
        let msg: unknown;
        try {
          msg = JSON.parse(String(data));
        } catch {
          return ws.close(1003, 'not JSON');
        }
        const m = msg as { kind?: unknown; id?: unknown; method?: unknown; params?: unknown };
        if (m.kind !== 'invoke' || typeof m.id !== 'number') return ws.close(1003, 'unexpected message');
        const id = m.id;
        void dispatch(m.method, m.params).then((result) => {
          const reply: WireToRenderer = { kind: 'result', id, result };
          if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(reply));
        });
      });
    });
  });
  const broadcast = (message: WireToRenderer) => {
    const text = JSON.stringify(message);
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(text);
  };
  const unsubscribeJobs = studio.jobs.onEvent((payload) => broadcast({ kind: 'event', name: 'job', payload }));
  const unsubscribeDownloads = studio.downloads.onChange((payload) => broadcast({ kind: 'event', name: 'download', payload }));
  const unsubscribeExports = studio.exports.onChange((payload) => broadcast({ kind: 'event', name: 'export', payload }));
  const unsubscribe = () => {
    unsubscribeJobs();
    unsubscribeDownloads();
    unsubscribeExports();
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  if (!existsSync(join(rendererDir, 'index.html'))) {
    console.warn(`studio: no built renderer in ${rendererDir}; run npm run build`);
  }
  return {
    url,
    launchUrl: `${url}/?token=${token}`,
    token,
    close: async () => {
      unsubscribe();
      for (const ws of sockets) ws.terminate();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      wss.close();
    },
  };
}
