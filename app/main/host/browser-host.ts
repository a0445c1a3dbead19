// The browser host: the same renderer and API over HTTP + WebSocket, on 127.0.0.1 only, behind a
// per-launch token. The page keeps the token (taken from the link `studio serve` prints) and sends it with
// each request and socket; images come through short-lived per-file links. Nothing secret lives in a
// cookie: browsers send a 127.0.0.1 cookie to every port of 127.0.0.1, so any local page could use it.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { z } from 'zod';
import type { WireToRenderer } from '../../shared/contract.js';
import { notice } from '../../shared/notices.js';
import { StudioError } from '../../shared/result.js';
import { createDispatch } from '../api-dispatch.js';
import { confinedPath } from '../paths.js';
import type { Studio } from '../studio.js';
import { forwardStudioEvents } from './event-forwarding.js';
import { createRouter, HttpError, route, unsafeSegment, type AuthTarget, type Reply } from './routes.js';
import { SignedFileUrls, studioFile } from './studio-files.js';

/** LoRA files run to a few GB; anything far larger is not a LoRA. */
const MAX_UPLOAD_BYTES = 8 * 1024 ** 3;
/** Room for the largest call the UI makes (an export of 100,000 selected ids is about 4 MB). */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** The WebSocket subprotocol the page asks for, and the prefix of the one that carries its token. */
export const WS_PROTOCOL = 'studio';
export const WS_TOKEN_PROTOCOL_PREFIX = 'studio.token.';

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export interface BrowserHostOptions {
  readonly studio: Studio;
  /** The built renderer (index.html and assets/). */
  readonly rendererDir: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Fixed for tests; random per launch otherwise. */
  readonly token?: string;
  /** How long an image link stays valid (tests shorten it). */
  readonly fileLinkLifetimeMs?: number;
}

export interface BrowserHost {
  readonly url: string;
  /** The URL to open: the page takes the token from it, keeps it for its tab and removes it from the address bar. */
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

function bearerToken(req: IncomingMessage): string | undefined {
  return /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
}

/** The token a page puts in its WebSocket subprotocols (browsers cannot set headers on a socket). */
function protocolToken(req: IncomingMessage): string | undefined {
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  return offered.find((p) => p.startsWith(WS_TOKEN_PROTOCOL_PREFIX))?.slice(WS_TOKEN_PROTOCOL_PREFIX.length);
}

function rawText(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** What the page may send on its socket: calls, nothing else. */
const wireToHostSchema = z.object({
  kind: z.literal('invoke'),
  id: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  method: z.string().max(200),
  params: z.unknown(),
});

export async function startBrowserHost(options: BrowserHostOptions): Promise<BrowserHost> {
  const { studio, rendererDir } = options;
  const token = options.token ?? randomBytes(24).toString('base64url');
  const dispatch = createDispatch(studio, 'browser');
  const links = new SignedFileUrls(options.fileLinkLifetimeMs);
  studio.setFileUrls(links.fileUrls());
  let port = 0;
  const origins = (): string[] => [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
  // A page on another site cannot reach us through a DNS name that resolves to 127.0.0.1.
  const hostAllowed = (req: IncomingMessage): boolean => [`127.0.0.1:${port}`, `localhost:${port}`].includes(req.headers.host ?? '');
  // The exact origin, port included: a page on another port of 127.0.0.1 is another origin.
  const originAllowed = (req: IncomingMessage): boolean => origins().includes(req.headers.origin ?? '');

  const auth = {
    none: () => undefined,
    /** Calls from the page: its token in the Authorization header, and (when the browser says) our exact origin. */
    token: (req: IncomingMessage) => {
      if (!sameToken(bearerToken(req), token)) return new HttpError(401, 'Open the link that `studio serve` printed (it carries the access token).');
      if (req.headers.origin !== undefined && !originAllowed(req)) return new HttpError(403, 'Requests from another origin are refused.');
      return undefined;
    },
    /** A file link: its signature, its expiry, and a load by our own page or the address bar. */
    fileLink: (req: IncomingMessage, { params, searchParams }: AuthTarget) => {
      const site = req.headers['sec-fetch-site'];
      if (site !== undefined && site !== 'same-origin' && site !== 'none') return new HttpError(403, 'Files are only served to the studio page.');
      const refused = links.check(params.kind ?? '', params.path ?? '', searchParams.get('e'), searchParams.get('s'));
      if (refused === 'missing') return new HttpError(401, 'This file needs a link from the studio page.');
      if (refused === 'expired') return new HttpError(403, 'This link has expired; reload the studio page.');
      if (refused === 'forged') return new HttpError(403, 'This link is not valid.');
      return undefined;
    },
  };

  /** Streams an upload to a temporary file in the data folder, imports it, and always removes the temporary file. */
  const receiveLora = async (req: IncomingMessage, name: string): Promise<Reply> => {
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
      return { status: 200, json: await studio.loras.import(tmp, name.slice(0, 255)) };
    } catch (e) {
      const error = e instanceof StudioError ? e.toJSON() : new StudioError('storage-failed', notice('error.uploadFailed', { name }), (e as Error).message).toJSON();
      return { status: 200, json: { ok: false, file: name, error } };
    } finally {
      await rm(tmp, { force: true });
    }
  };

  const routes = [
    route({
      method: 'POST',
      path: '/upload/lora',
      auth: 'token',
      query: z.object({ name: z.string().min(1).max(1024).default('upload.safetensors') }),
      streamBody: true,
      handle: ({ req, query }) => receiveLora(req, query.name),
    }),
    route({
      method: 'GET',
      path: '/files/:kind/*path',
      auth: 'fileLink',
      handle: ({ params }) => {
        const file = studioFile(studio, params.kind ?? '', params.path ?? '');
        if (!file) throw new HttpError(404, 'Not found.');
        return { file, cache: 'private, max-age=31536000, immutable' };
      },
    }),
    // The renderer itself: public code, no user data; the page asks for everything else with its token.
    route({
      method: 'GET',
      path: '/*path',
      auth: 'none',
      query: z.object({ token: z.string().max(200).optional() }),
      handle: ({ params, query }) => {
        const rel = params.path === '' ? 'index.html' : (params.path ?? '');
        if (rel === 'index.html' && query.token !== undefined && !sameToken(query.token, token)) {
          throw new HttpError(401, 'Wrong token: open the link that `studio serve` printed.');
        }
        const parts = rel.split('/');
        const file = parts.some((p) => p === '' || unsafeSegment(p)) ? undefined : confinedPath(rendererDir, parts.join('/'));
        if (!file) throw new HttpError(404, 'Not found.');
        // A directory answers 404 where the file is sent (routes.ts), as does one that vanished meanwhile.
        return { file, cache: rel === 'index.html' ? 'no-store' : 'private, max-age=3600' };
      },
    }),
  ];

  const handler = createRouter({
    routes,
    auth,
    invalidStatus: 400,
    maxBodyBytes: 64 * 1024,
    guard: (req) => (hostAllowed(req) ? undefined : new HttpError(403, 'Forbidden host.')),
    headers: () => SECURITY_HEADERS,
    errorReply: (e) => ({ status: e.status, text: e.message }),
  });
  const server: Server = createServer(handler);
  // A malformed request line or header is answered by Node itself; a reset socket must not end the process.
  server.on('clientError', (_err, socket: Socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const path = req.url ?? '';
    const tokenOk = sameToken(protocolToken(req), token) || sameToken(bearerToken(req), token);
    if (!hostAllowed(req) || !originAllowed(req) || !tokenOk || !(path === '/api' || path.startsWith('/api?'))) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      // Oversized messages (1009) and invalid UTF-8 (1007): ws has already closed the socket with the reason.
      ws.on('error', () => ws.terminate());
      ws.on('message', (data: RawData, isBinary: boolean) => {
        if (isBinary) return ws.close(1003, 'binary messages are not understood');
        let json: unknown;
        try {
          json = JSON.parse(rawText(data).toString('utf8'));
        } catch {
          return ws.close(1003, 'not JSON');
        }
        const msg = wireToHostSchema.safeParse(json);
        if (!msg.success) return ws.close(1003, 'unexpected message');
        const { id, method, params } = msg.data;
        void dispatch(method, params).then((result) => {
          const reply: WireToRenderer = { kind: 'result', id, result };
          if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(reply));
        });
      });
    });
  });
  const unsubscribe = forwardStudioEvents(studio, (name, payload) => {
    const text = JSON.stringify({ kind: 'event', name, payload } satisfies WireToRenderer);
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(text);
  });

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
