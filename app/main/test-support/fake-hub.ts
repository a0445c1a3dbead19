// Test helper: a real HTTP server on 127.0.0.1 that speaks the Hugging Face and ModelScope protocols
// (listing, resolve with a redirect to a second "CDN" host, Range, ETag, LFS sha256), with faults to inject.

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Faults {
  /** Close the connection after this many bytes of the body, this many times. */
  drop?: { afterBytes: number; times: number };
  /** Answer 429 with Retry-After: 1, this many times. */
  tooMany?: number;
  /** Answer 500, this many times in a row. */
  serverErrors?: number;
  /** Flip one byte at this file offset, this many times. */
  corrupt?: { offset: number; times: number };
  /** End the body early (the connection closes cleanly) after this many bytes, this many times. */
  truncate?: { afterBytes: number; times: number };
  /** Send this many bytes, then go silent for ms, this many times. */
  stall?: { afterBytes: number; ms: number; times: number };
  /** Limit the body to this many bytes per second (for kill-and-resume tests). */
  bytesPerSecond?: number;
  /** Apply the faults only to one route: the file host Hugging Face redirects to, or the hub itself. */
  route?: 'cdn' | 'hub';
}

export interface FakeRepo {
  readonly files: Record<string, Buffer>;
  /** Paths stored as LFS (with sha256); the rest are small git blobs (sha1). */
  readonly lfs: readonly string[];
}

/** How the hub answers the Hugging Face tree API: in pages, and possibly cut short. */
export interface Listing {
  /** Entries per page (the real hub sends 1,000); every page but the last carries a Link rel="next". */
  pageSize?: number;
  /** Stop after this many entries without a next link, as a broken mirror or proxy would. */
  endAfter?: number;
}

export interface FakeHub {
  readonly url: string;
  /** Change between requests to page or cut the listing. */
  readonly listing: Listing;
  /** The tree pages asked for, by their cursor ('' for the first). */
  readonly treePages: string[];
  readonly cdnUrl: string;
  readonly faults: Map<string, Faults>;
  readonly requests: { path: string; range: string | undefined; host: 'hub' | 'cdn' }[];
  close(): Promise<void>;
}

export function deterministicBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function startFakeHub(repos: Record<string, FakeRepo>, listing: Listing = {}): Promise<FakeHub> {
  const faults = new Map<string, Faults>();
  const treePages: string[] = [];
  const requests: FakeHub['requests'] = [];
  const sockets = new Set<import('node:net').Socket>();

  const sendFile = async (req: IncomingMessage, res: ServerResponse, path: string, body: Buffer, route: 'cdn' | 'hub') => {
    const configured = faults.get(path) ?? {};
    const f = configured.route && configured.route !== route ? {} : configured;
    if (f.tooMany && f.tooMany > 0) {
      f.tooMany--;
      res.writeHead(429, { 'Retry-After': '1' }).end('slow down');
      return;
    }
    if (f.serverErrors && f.serverErrors > 0) {
      f.serverErrors--;
      res.writeHead(500).end('boom');
      return;
    }
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const end = m && m[2] ? Math.min(Number(m[2]), body.length - 1) : body.length - 1;
    const slice = Buffer.from(body.subarray(start, end + 1));
    if (f.corrupt && f.corrupt.times > 0 && f.corrupt.offset >= start && f.corrupt.offset <= end) {
      f.corrupt.times--;
      slice[f.corrupt.offset - start] = slice[f.corrupt.offset - start]! ^ 0xff;
    }
    res.writeHead(m ? 206 : 200, {
      'Content-Length': String(slice.length),
      'Content-Type': 'application/octet-stream',
      ETag: `"${sha256(body)}"`,
      'Accept-Ranges': 'bytes',
      ...(m ? { 'Content-Range': `bytes ${start}-${end}/${body.length}` } : {}),
    });
    let cut: number | undefined;
    let mode: 'drop' | 'truncate' | 'stall' | undefined;
    if (f.drop && f.drop.times > 0) [cut, mode] = [f.drop.afterBytes, 'drop'];
    else if (f.truncate && f.truncate.times > 0) [cut, mode] = [f.truncate.afterBytes, 'truncate'];
    else if (f.stall && f.stall.times > 0) [cut, mode] = [f.stall.afterBytes, 'stall'];
    if (mode && cut !== undefined && cut < slice.length) {
      if (mode === 'drop') f.drop!.times--;
      if (mode === 'truncate') f.truncate!.times--;
      if (mode === 'stall') f.stall!.times--;
      res.write(slice.subarray(0, cut));
      if (mode === 'drop') res.socket?.destroy();
      else if (mode === 'truncate') res.socket?.end();
      else setTimeout(() => res.socket?.destroy(), f.stall!.ms);
      return;
    }
    const rate = f.bytesPerSecond;
    if (!rate) {
      res.end(slice);
      return;
    }
    const chunk = Math.max(1024, Math.floor(rate / 20));
    for (let i = 0; i < slice.length && !res.destroyed; i += chunk) {
      res.write(slice.subarray(i, i + chunk));
      await new Promise((r) => setTimeout(r, 50));
    }
    res.end();
  };

  const cdn = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const [, , org, name, ...rest] = url.pathname.split('/');
    const repo = repos[`${org}/${name}`];
    const path = rest.map(decodeURIComponent).join('/');
    requests.push({ path, range: req.headers.range, host: 'cdn' });
    const body = repo?.files[path];
    if (!body) return void res.writeHead(404).end();
    void sendFile(req, res, path, body, 'cdn');
  });
  const cdnUrl = await listen(cdn);

  let hubUrl = '';
  const hub = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let m = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const repo = repos[m[1]!];
      if (!repo) return void res.writeHead(404).end('{"error":"Repository not found"}');
      const list = Object.entries(repo.files).map(([path, b]) =>
        repo.lfs.includes(path)
          ? { type: 'file', path, size: b.length, oid: gitSha1(Buffer.from('pointer')), lfs: { oid: sha256(b), size: b.length } }
          : { type: 'file', path, size: b.length, oid: gitSha1(b) },
      );
      const all = [{ type: 'directory', path: 'transformer' }, ...list].slice(0, listing.endAfter ?? Infinity);
      // Hugging Face's cursor is opaque; an offset in base64 serves the same purpose here.
      const cursor = url.searchParams.get('cursor') ?? '';
      treePages.push(cursor);
      const start = cursor ? Number(Buffer.from(cursor, 'base64url').toString()) : 0;
      const size = listing.pageSize ?? all.length;
      const end = start + size;
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (end < all.length) {
        const next = new URL(`${url.pathname}${url.search}`, hubUrl);
        next.searchParams.set('cursor', Buffer.from(String(end)).toString('base64url'));
        headers.Link = `<${next.href}>; rel="next"`;
      }
      return void res.writeHead(200, headers).end(JSON.stringify(all.slice(start, end)));
    }
    m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (m) {
      const repo = repos[m[1]!];
      const path = m[3]!.split('/').map(decodeURIComponent).join('/');
      requests.push({ path, range: req.headers.range, host: 'hub' });
      if (!repo?.files[path]) return void res.writeHead(404).end();
      // Large files are served by a second host, as Hugging Face does.
      return void res.writeHead(302, { Location: `${cdnUrl}/blob/${m[1]}/${m[3]}`, 'X-Linked-Etag': `"${sha256(repo.files[path])}"` }).end();
    }
    m = /^\/api\/v1\/models\/([^/]+\/[^/]+)\/repo\/files$/.exec(url.pathname);
    if (m) {
      const repo = repos[m[1]!];
      if (!repo) return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ Code: 10010205001, Message: 'not found' }));
      const files = Object.entries(repo.files).map(([path, b]) => ({ Name: path.split('/').pop(), Path: path, Size: b.length, Sha256: sha256(b), Type: 'blob' }));
      return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ Code: 200, Data: { Files: [{ Path: 'transformer', Type: 'tree' }, ...files] } }));
    }
    m = /^\/api\/v1\/models\/([^/]+\/[^/]+)\/repo$/.exec(url.pathname);
    if (m) {
      const repo = repos[m[1]!];
      const path = url.searchParams.get('FilePath') ?? '';
      requests.push({ path, range: req.headers.range, host: 'hub' });
      const body = repo?.files[path];
      if (!body) return void res.writeHead(404).end();
      return void sendFile(req, res, path, body, 'hub');
    }
    res.writeHead(404).end();
  });
  const url = await listen(hub);
  hubUrl = url;
  for (const s of [hub, cdn]) s.on('connection', (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  return {
    url,
    cdnUrl,
    listing,
    treePages,
    faults,
    requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all([hub, cdn].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
