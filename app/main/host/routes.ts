// A host's HTTP routes as one table: each route names its method, path pattern, auth rule and the zod
// schemas of its query and body. One dispatcher parses the request target, decodes the path, checks the
// method, the auth rule and the body, and answers every malformed request with a 4xx; a handler that
// fails answers 500. Nothing a client sends can end the process.

import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname } from 'node:path';
import type { z } from 'zod';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** One problem with a request, located the way FastAPI (and so A1111) locates them. */
export interface RequestIssue {
  readonly loc: readonly (string | number)[];
  readonly msg: string;
  readonly type: string;
}

/** A refusal: the status, a message for the client, and the issues when the request failed validation. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly issues?: readonly RequestIssue[],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

export type Reply =
  | { readonly status: number; readonly json: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly status: number; readonly text: string; readonly type?: string; readonly headers?: Readonly<Record<string, string>> }
  /** A file the route has already confined to its folder; a directory or a vanished file answers 404. */
  | { readonly file: string; readonly cache: string; readonly headers?: Readonly<Record<string, string>> }
  /** The handler wrote the response itself. */
  | { readonly sent: true };

/** What a refusal looks like on the wire: a status with text or JSON. */
export type ErrorReply = Extract<Reply, { readonly status: number }>;

export interface RouteContext<Q, B> {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: HttpMethod;
  /** Decoded values of the pattern's `:name` and `*name` parts. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: Q;
  readonly body: B;
  /** Aborted when the client goes away before the answer is complete. */
  readonly signal: AbortSignal;
}

/** What an auth rule sees: the request and its matched target. */
export interface AuthTarget {
  readonly params: Readonly<Record<string, string>>;
  readonly searchParams: URLSearchParams;
}

interface RouteSpec<A extends string, Q extends z.ZodType, B extends z.ZodType> {
  /** GET routes also answer HEAD. */
  readonly method: HttpMethod;
  /** `/literal/:one/*rest`: `:name` is one decoded segment, `*name` the decoded rest (possibly empty). */
  readonly path: string;
  readonly auth: A;
  /** Validates the query string (an object of its first values); absent: the query is ignored. */
  readonly query?: Q;
  /** Validates a JSON body; absent: any body is read and discarded (within the size limit). */
  readonly body?: B;
  readonly maxBodyBytes?: number;
  /** The handler reads the body itself (an upload streamed to disk). */
  readonly streamBody?: boolean;
  readonly handle: (ctx: RouteContext<z.output<Q>, z.output<B>>) => Reply | Promise<Reply>;
}

type Segment = { readonly kind: 'literal'; readonly value: string } | { readonly kind: 'param'; readonly name: string } | { readonly kind: 'rest'; readonly name: string };

export interface Route<A extends string> {
  readonly method: HttpMethod;
  readonly path: string;
  readonly auth: A;
  readonly segments: readonly Segment[];
  readonly query: z.ZodType | undefined;
  readonly body: z.ZodType | undefined;
  readonly maxBodyBytes: number | undefined;
  readonly streamBody: boolean;
  readonly handle: (ctx: RouteContext<unknown, unknown>) => Reply | Promise<Reply>;
}

function parsePattern(path: string): Segment[] {
  if (!path.startsWith('/')) throw new Error(`route pattern must start with /: ${path}`);
  const parts = path.slice(1).split('/');
  return parts.map((p, i): Segment => {
    if (p.startsWith(':')) return { kind: 'param', name: p.slice(1) };
    if (p.startsWith('*')) {
      if (i !== parts.length - 1) throw new Error(`*${p} must be the last part of ${path}`);
      return { kind: 'rest', name: p.slice(1) };
    }
    return { kind: 'literal', value: p };
  });
}

/** Declares a route; the handler's query and body types follow from the schemas. */
export function route<A extends string, Q extends z.ZodType = z.ZodUnknown, B extends z.ZodType = z.ZodUnknown>(spec: RouteSpec<A, Q, B>): Route<A> {
  return {
    method: spec.method,
    path: spec.path,
    auth: spec.auth,
    segments: parsePattern(spec.path),
    query: spec.query,
    body: spec.body,
    maxBodyBytes: spec.maxBodyBytes,
    streamBody: spec.streamBody ?? false,
    handle: spec.handle as Route<A>['handle'],
  };
}

/**
 * Splits a raw URL path into decoded segments. Undefined when a percent-encoding is malformed; a segment
 * that decodes to a separator, NUL or `..` is kept as it is: whoever turns segments into a file refuses
 * it (unsafeSegment, confinedPath).
 */
export function decodePathSegments(rawPath: string): string[] | undefined {
  const out: string[] = [];
  for (const part of rawPath.replace(/^\/+/, '').split('/')) {
    try {
      out.push(decodeURIComponent(part));
    } catch {
      return undefined;
    }
  }
  return out;
}

/** True when a decoded path part could step outside the folder it names: separators, NUL, `..`. */
export function unsafeSegment(segment: string): boolean {
  return segment === '..' || segment === '.' || /[\\/\0]/.test(segment);
}

function match(route: Route<string>, segments: readonly string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < route.segments.length; i++) {
    const s = route.segments[i]!;
    if (s.kind === 'rest') {
      params[s.name] = segments.slice(i).join('/');
      return params;
    }
    const value = segments[i];
    if (value === undefined) return undefined;
    if (s.kind === 'literal') {
      if (value !== s.value) return undefined;
    } else {
      params[s.name] = value;
    }
  }
  return segments.length === route.segments.length ? params : undefined;
}

function issuesOf(error: z.ZodError, where: 'query' | 'body'): RequestIssue[] {
  return error.issues.map((i) => ({
    loc: [where, ...i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
    msg: i.message,
    type: i.code === 'invalid_type' ? `type_error.${i.expected}` : `value_error.${i.code}`,
  }));
}

/** Reads at most `limit` bytes; a longer body is drained (so the client reads the answer) and refused with 413. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  const tooLarge = () => new HttpError(413, `The request body is larger than ${limit} bytes.`);
  // Draining a huge upload would only waste time: past this, the connection is closed after the answer.
  const drainCap = Math.max(limit * 4, 64 * 1024 * 1024);
  if (Number.isFinite(declared) && declared > drainCap) throw new HttpError(413, tooLarge().message, undefined, { Connection: 'close' });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > drainCap) throw new HttpError(413, tooLarge().message, undefined, { Connection: 'close' });
    if (size <= limit) chunks.push(chunk);
  }
  if (size > limit) throw tooLarge();
  return Buffer.concat(chunks);
}

function isJsonType(contentType: string | undefined): boolean {
  if (!contentType) return true;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json');
}

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
  '.zip': 'application/zip',
  '.csv': 'text/csv; charset=utf-8',
  '.safetensors': 'application/octet-stream',
};

export interface RouterOptions<A extends string> {
  readonly routes: readonly Route<A>[];
  /** Each auth rule returns the refusal, or undefined to let the request through. */
  readonly auth: { readonly [K in A]: (req: IncomingMessage, target: AuthTarget) => HttpError | undefined };
  /** How this host words a refusal (plain text for the UI, A1111's JSON for its API). */
  readonly errorReply: (e: HttpError) => ErrorReply;
  /** Status for a query or body that fails its schema or is not JSON (400 for the UI; 422 as FastAPI). */
  readonly invalidStatus: number;
  readonly maxBodyBytes: number;
  /** Runs before routing (the Host check, CORS preflight); a Reply or HttpError ends the request there. */
  readonly guard?: (req: IncomingMessage, method: string) => HttpError | Reply | undefined;
  /** Headers on every answer (security headers, CORS). */
  readonly headers?: (req: IncomingMessage) => Readonly<Record<string, string>>;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createRouter<A extends string>(options: RouterOptions<A>): RequestHandler {
  const refusal = (e: HttpError): ErrorReply => {
    const r = options.errorReply(e);
    return { ...r, headers: { ...(r.headers ?? {}), ...e.headers } };
  };
  const send = (req: IncomingMessage, res: ServerResponse, reply: Reply): void => {
    if ('sent' in reply) return;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const common = { ...(options.headers?.(req) ?? {}), ...(reply.headers ?? {}) };
    const head = req.method === 'HEAD';
    if ('file' in reply) {
      let size: number;
      try {
        const st = statSync(reply.file);
        if (!st.isFile()) return send(req, res, refusal(new HttpError(404, 'Not found.')));
        size = st.size;
      } catch {
        return send(req, res, refusal(new HttpError(404, 'Not found.')));
      }
      res.writeHead(200, {
        'Content-Type': CONTENT_TYPES[extname(reply.file).toLowerCase()] ?? 'application/octet-stream',
        'Content-Length': String(size),
        'Cache-Control': reply.cache,
        ...common,
      });
      if (head) return void res.end();
      const stream = createReadStream(reply.file);
      // A file removed or unreadable mid-way ends the response; the client sees a short read, the server lives.
      stream.on('error', () => res.destroy());
      stream.pipe(res);
      return;
    }
    const [type, body] = 'json' in reply ? ['application/json', JSON.stringify(reply.json)] : [reply.type ?? 'text/plain; charset=utf-8', reply.text];
    res.writeHead(reply.status, { 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), ...common });
    res.end(head ? undefined : body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<Reply> => {
    const method = (req.method ?? '').toUpperCase();
    const guarded = options.guard?.(req, method);
    if (guarded instanceof HttpError) throw guarded;
    if (guarded) return guarded;
    // Origin-form targets only: absolute forms (`GET http://host/ HTTP/1.1`) are for proxies.
    const target = req.url ?? '';
    if (!target.startsWith('/') || target.startsWith('//')) throw new HttpError(400, 'Bad request target: expected a path starting with /.');
    const q = target.indexOf('?');
    const rawPath = q === -1 ? target : target.slice(0, q);
    const searchParams = new URLSearchParams(q === -1 ? '' : target.slice(q + 1));
    const segments = decodePathSegments(rawPath);
    if (!segments) throw new HttpError(400, 'Malformed percent-encoding in the path.');
    const allowed = new Set<string>();
    for (const r of options.routes) {
      const params = match(r, segments);
      if (!params) continue;
      const methods = r.method === 'GET' ? ['GET', 'HEAD'] : [r.method];
      if (!methods.includes(method)) {
        for (const m of methods) allowed.add(m);
        continue;
      }
      const refused = options.auth[r.auth](req, { params, searchParams });
      if (refused) throw refused;
      let query: unknown = undefined;
      if (r.query) {
        const parsed = r.query.safeParse(Object.fromEntries(searchParams));
        if (!parsed.success) throw new HttpError(options.invalidStatus, parsed.error.issues[0]?.message ?? 'Invalid query.', issuesOf(parsed.error, 'query'));
        query = parsed.data;
      }
      let body: unknown = undefined;
      if (!r.streamBody) {
        const raw = await readBody(req, r.maxBodyBytes ?? options.maxBodyBytes);
        if (r.body) {
          if (!isJsonType(req.headers['content-type'])) {
            throw new HttpError(415, `Send the body as application/json (got ${req.headers['content-type']}).`);
          }
          let json: unknown;
          try {
            json = JSON.parse(raw.toString('utf8'));
          } catch (e) {
            const msg = raw.length === 0 ? 'The request has no body; send a JSON object.' : `The body is not valid JSON: ${(e as Error).message}`;
            throw new HttpError(options.invalidStatus, msg, [{ loc: ['body'], msg, type: 'value_error.jsondecode' }]);
          }
          const parsed = r.body.safeParse(json);
          if (!parsed.success) throw new HttpError(options.invalidStatus, parsed.error.issues[0]?.message ?? 'Invalid body.', issuesOf(parsed.error, 'body'));
          body = parsed.data;
        }
      }
      return r.handle({ req, res, method: method as HttpMethod, params, query, body, signal });
    }
    if (allowed.size > 0) throw new HttpError(405, `Method ${method} is not allowed here; use ${[...allowed].join(' or ')}.`, undefined, { Allow: [...allowed].join(', ') });
    throw new HttpError(404, 'Not found.');
  };

  return (req, res) => {
    const aborter = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) aborter.abort();
    });
    // A request that errors mid-way (reset by the client) must not become an unhandled 'error' event.
    req.on('error', () => aborter.abort());
    res.on('error', () => undefined);
    handle(req, res, aborter.signal).then(
      (reply) => send(req, res, reply),
      (e: unknown) => {
        if (e instanceof HttpError) return send(req, res, refusal(e));
        console.error(`studio: ${req.method} ${req.url} failed:`, e);
        send(req, res, refusal(new HttpError(500, `Internal error: ${e instanceof Error ? e.message : String(e)}`)));
      },
    );
  };
}
