// The AUTOMATIC1111-compatible API (/sdapi/v1) on its own listener: 127.0.0.1 unless the user asks to
// listen beyond it, and then only with HTTP Basic credentials, as A1111's --listen/--api-auth. Its routes
// are a table like the browser host's; its errors have A1111's JSON shapes. The UI's token opens nothing
// here, and these credentials open nothing of the UI (a separate server, a separate port).

import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { notice } from '../../shared/notices.js';
import { StudioError } from '../../shared/result.js';
import { createRouter, HttpError, route, type ErrorReply } from '../host/routes.js';
import type { A1111Service } from './a1111-service.js';
import { img2imgSchema, optionsSchema, pngInfoSchema, progressQuerySchema, txt2imgSchema } from './a1111-schemas.js';

export interface ApiCredential {
  readonly user: string;
  readonly password: string;
}

export interface ApiServerOptions {
  readonly service: A1111Service;
  /** Where to listen: 127.0.0.1 by default; 0.0.0.0 (every interface) only with credentials. */
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Empty: no authentication (loopback only). */
  readonly credentials: readonly ApiCredential[];
  /** Pages allowed to call the API from a browser (A1111's --cors-allow-origins); none by default. */
  readonly corsOrigins: readonly string[];
}

export interface ApiServer {
  /** The base URL clients are given, e.g. http://127.0.0.1:7860 */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A1111 accepts `user:password` pairs separated by commas; a password may itself hold colons. */
export function parseApiAuth(spec: string): ApiCredential[] {
  return spec
    .split(',')
    .filter((pair) => pair.trim() !== '')
    .map((pair) => {
      const i = pair.indexOf(':');
      if (i <= 0 || i === pair.length - 1) throw new StudioError('invalid-request', notice('error.apiAuthFormat'));
      return { user: pair.slice(0, i), password: pair.slice(i + 1) };
    });
}

export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '[::1]';
}

/** JSON bodies up to this size; images (img2img, png-info) up to the larger one. A 20 MB body is refused. */
const MAX_JSON_BYTES = 1024 * 1024;
const MAX_IMAGE_BODY_BYTES = 16 * 1024 * 1024;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** FastAPI's shapes: a list of located issues for validation, else A1111's exception object. */
function a1111Error(e: HttpError): ErrorReply {
  if (e.issues && e.status === 422) return { status: 422, json: { detail: e.issues } };
  if (e.status === 401) return { status: 401, json: { detail: e.message } };
  return { status: e.status, json: { error: e.status >= 500 ? 'RuntimeError' : 'HTTPException', detail: e.message, body: '', errors: `${e.status}: ${e.message}` } };
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { service, credentials, corsOrigins } = options;
  if (!isLoopback(options.host) && credentials.length === 0) throw new StudioError('invalid-request', notice('error.apiListenNeedsAuth'));

  const originAllowed = (origin: string) => corsOrigins.includes('*') || corsOrigins.includes(origin);

  const auth = {
    open: () => undefined,
    basic: (req: IncomingMessage) => {
      if (credentials.length === 0) return undefined;
      const header = req.headers.authorization ?? '';
      const m = /^Basic\s+([A-Za-z0-9+/=]*)\s*$/i.exec(header);
      const challenge = { 'WWW-Authenticate': 'Basic' };
      if (!m || m[1] === '') return new HttpError(401, 'Not authenticated', undefined, challenge);
      const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      const [user, password] = i === -1 ? [decoded, ''] : [decoded.slice(0, i), decoded.slice(i + 1)];
      const ok = credentials.some((c) => sameSecret(c.user, user) && sameSecret(c.password, password));
      return ok ? undefined : new HttpError(401, 'Incorrect username or password', undefined, challenge);
    },
  };

  const json = (value: unknown) => ({ status: 200, json: value });
  const routes = [
    route({ method: 'GET', path: '/', auth: 'open', handle: () => ({ status: 200, text: 'Studio: an AUTOMATIC1111-compatible API at /sdapi/v1 (txt2img, sd-models, options, progress, ...).\n' }) }),
    route({ method: 'GET', path: '/sdapi/v1/sd-models', auth: 'basic', handle: () => json(service.sdModels()) }),
    route({ method: 'POST', path: '/sdapi/v1/refresh-checkpoints', auth: 'basic', handle: async () => json(await service.refreshCheckpoints()) }),
    route({ method: 'GET', path: '/sdapi/v1/options', auth: 'basic', handle: () => json(service.getOptions()) }),
    route({ method: 'POST', path: '/sdapi/v1/options', auth: 'basic', body: optionsSchema, handle: ({ body }) => json(service.setOptions(body)) }),
    route({ method: 'GET', path: '/sdapi/v1/samplers', auth: 'basic', handle: () => json(service.samplers()) }),
    route({ method: 'GET', path: '/sdapi/v1/schedulers', auth: 'basic', handle: () => json(service.schedulers()) }),
    route({ method: 'GET', path: '/sdapi/v1/loras', auth: 'basic', handle: () => json(service.loras()) }),
    route({ method: 'POST', path: '/sdapi/v1/refresh-loras', auth: 'basic', handle: async () => json(await service.refreshLoras()) }),
    route({
      method: 'GET',
      path: '/sdapi/v1/progress',
      auth: 'basic',
      query: progressQuerySchema,
      handle: ({ query }) => json(service.getProgress(['true', 'True', '1'].includes(query.skip_current_image ?? 'false'))),
    }),
    route({ method: 'POST', path: '/sdapi/v1/interrupt', auth: 'basic', handle: () => json(service.interrupt()) }),
    route({ method: 'POST', path: '/sdapi/v1/skip', auth: 'basic', handle: () => json(service.skip()) }),
    route({
      method: 'POST',
      path: '/sdapi/v1/txt2img',
      auth: 'basic',
      body: txt2imgSchema,
      handle: async ({ body, signal }) => {
        const answer = await service.txt2img(body, signal);
        return answer ? json(answer) : { sent: true };
      },
    }),
    route({
      method: 'POST',
      path: '/sdapi/v1/img2img',
      auth: 'basic',
      body: img2imgSchema,
      maxBodyBytes: MAX_IMAGE_BODY_BYTES,
      handle: async ({ body, signal }) => {
        const answer = await service.img2img(body, signal);
        return answer ? json(answer) : { sent: true };
      },
    }),
    route({ method: 'POST', path: '/sdapi/v1/png-info', auth: 'basic', body: pngInfoSchema, maxBodyBytes: MAX_IMAGE_BODY_BYTES, handle: ({ body }) => json(service.pngInfo(body.image)) }),
    // What SillyTavern and webuiapi also ask for: the studio has none of these, and says so with empty lists.
    route({ method: 'GET', path: '/sdapi/v1/sd-vae', auth: 'basic', handle: () => json([]) }),
    route({ method: 'GET', path: '/sdapi/v1/upscalers', auth: 'basic', handle: () => json([{ name: 'None', model_name: null, model_path: null, model_url: null, scale: 4 }]) }),
    route({ method: 'GET', path: '/sdapi/v1/latent-upscale-modes', auth: 'basic', handle: () => json([]) }),
    route({ method: 'GET', path: '/sdapi/v1/scripts', auth: 'basic', handle: () => json({ txt2img: [], img2img: [] }) }),
    route({ method: 'GET', path: '/sdapi/v1/embeddings', auth: 'basic', handle: () => json({ loaded: {}, skipped: {} }) }),
  ];

  const handler = createRouter({
    routes,
    auth,
    invalidStatus: 422,
    maxBodyBytes: MAX_JSON_BYTES,
    guard: (req, method) => {
      // Without credentials the API is for this machine only: a page on another site cannot reach it through
      // a DNS name that resolves to 127.0.0.1 (the Host header still names that site).
      if (credentials.length === 0) {
        const hostname = (req.headers.host ?? '').replace(/:\d+$/, '');
        if (!isLoopback(hostname)) return new HttpError(403, `Forbidden host "${req.headers.host ?? ''}": without --api-auth the API answers 127.0.0.1 and localhost only.`);
      }
      const origin = req.headers.origin;
      if (origin === undefined) return undefined;
      // Programs (Open WebUI's and SillyTavern's servers, scripts) send no Origin; browser pages do.
      if (!originAllowed(origin)) return new HttpError(403, `Requests from the page ${origin} are refused: allow it with --cors-allow-origins ${origin}`);
      if (method === 'OPTIONS') {
        return {
          status: 204,
          text: '',
          headers: {
            'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
            'Access-Control-Allow-Headers': String(req.headers['access-control-request-headers'] ?? 'Authorization, Content-Type'),
            'Access-Control-Max-Age': '600',
          },
        };
      }
      return undefined;
    },
    headers: (req) => {
      const origin = req.headers.origin;
      return {
        'X-Content-Type-Options': 'nosniff',
        ...(origin !== undefined && originAllowed(origin) ? { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' } : {}),
      };
    },
    errorReply: a1111Error,
  });
  const server: Server = createServer(handler);
  server.on('clientError', (_err, socket: Socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new StudioError('invalid-request', notice('error.apiPortInUse', { port: options.port })) : e),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = isLoopback(options.host) ? '127.0.0.1' : options.host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
