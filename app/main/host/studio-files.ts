// The studio's folders a host may serve files from, by kind, and the one way both hosts (the browser
// host's /files/ route and Electron's studio-file: protocol) turn a URL path into a file in them.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { FileUrls } from '../file-urls.js';
import { confinedPath } from '../paths.js';
import type { Studio } from '../studio.js';
import { decodePathSegments, unsafeSegment } from './routes.js';

export const FILE_KINDS = ['images', 'thumbs', 'loras', 'exports'] as const;
export type FileKind = (typeof FILE_KINDS)[number];

export function isFileKind(kind: string): kind is FileKind {
  return (FILE_KINDS as readonly string[]).includes(kind);
}

/** The folder each kind of file lives in. */
export function fileRoot(studio: Studio, kind: FileKind): string {
  switch (kind) {
    case 'images':
      return studio.layout.images;
    case 'thumbs':
      return studio.layout.thumbs;
    case 'loras':
      return studio.loras.library.dir;
    case 'exports':
      return join(studio.layout.root, 'exports');
  }
}

/**
 * The regular file at `relativePath` (already decoded, `/`-separated) inside the folder of `kind`, or
 * undefined: unknown kind, a part that could climb out (`..`, separators, NUL), a symlink leaving the
 * folder, a directory, a missing file.
 */
export function studioFile(studio: Studio, kind: string, relativePath: string): string | undefined {
  if (!isFileKind(kind)) return undefined;
  const parts = relativePath.split('/');
  if (parts.length === 0 || parts.some((p) => p === '' || unsafeSegment(p))) return undefined;
  const file = confinedPath(fileRoot(studio, kind), parts.join('/'));
  if (!file) return undefined;
  try {
    return statSync(file).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

/** The same, from a raw (percent-encoded) URL path; undefined for malformed encodings and encoded separators too. */
export function studioFileFromUrlPath(studio: Studio, kind: string, rawPath: string): string | undefined {
  const segments = decodePathSegments(rawPath);
  return segments && !segments.some(unsafeSegment) ? studioFile(studio, kind, segments.join('/')) : undefined;
}

/** A relative path as URL path segments, each percent-encoded (Windows separators become `/`). */
export function encodePath(relativePath: string): string {
  return relativePath.replace(/\\/g, '/').split('/').map(encodeURIComponent).join('/');
}

/**
 * Per-file links for the browser host: `/files/<kind>/<path>?e=<expiry>&s=<signature>`, an HMAC of kind,
 * path and expiry under a key made per launch. A link opens one file until it expires; knowing it tells
 * nothing about any other file, and nothing of it lives in a cookie another local port could read.
 */
export class SignedFileUrls {
  private readonly key = randomBytes(32);

  constructor(
    /** How long a link stays valid. */
    private readonly lifetimeMs = 4 * 60 * 60 * 1000,
    /** Expiries are rounded up to this step, so a file keeps one URL (and its browser cache) for a while. */
    private readonly stepMs = 15 * 60 * 1000,
    private readonly now: () => number = Date.now,
  ) {}

  private signature(kind: FileKind, path: string, expiry: number): string {
    return createHmac('sha256', this.key).update(`${kind}\n${path}\n${expiry}`).digest('base64url');
  }

  url(kind: FileKind, relativePath: string): string {
    const path = relativePath.replace(/\\/g, '/');
    const expiry = Math.ceil((this.now() + this.lifetimeMs) / this.stepMs) * this.stepMs;
    return `/files/${kind}/${encodePath(path)}?e=${expiry}&s=${this.signature(kind, path, expiry)}`;
  }

  /** Undefined when the link is good; else why it is refused. */
  check(kind: string, path: string, expiry: string | null, signature: string | null): 'missing' | 'expired' | 'forged' | undefined {
    if (!expiry || !signature) return 'missing';
    if (!isFileKind(kind) || !/^\d{1,16}$/.test(expiry)) return 'forged';
    const expected = Buffer.from(this.signature(kind, path, Number(expiry)));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'forged';
    return Number(expiry) < this.now() ? 'expired' : undefined;
  }

  fileUrls(): FileUrls {
    return {
      image: (p) => this.url('images', p),
      thumb: (p) => this.url('thumbs', p),
      lora: (p) => this.url('loras', p),
      export: (p) => this.url('exports', p),
    };
  }
}
