// Encodes a generated image with its recipe embedded, writes it atomically, and makes its thumbnail.

import sharp from 'sharp';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { OutputFormat } from '../../shared/generation.js';
import { notice } from '../../shared/notices.js';
import { assertNever, StudioError } from '../../shared/result.js';
import { addPngText } from './png-text.js';
import { addJpegUserComment } from './jpeg-exif.js';

export const THUMB_SIDE = 384;

export interface RawImage {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
}

export function extensionFor(format: OutputFormat): 'png' | 'jpg' {
  return format === 'png' ? 'png' : 'jpg';
}

export async function encodeImage(image: RawImage, format: OutputFormat, parameters: string): Promise<Buffer> {
  const input = sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } });
  switch (format) {
    case 'png':
      return addPngText(await input.png({ compressionLevel: 6 }).toBuffer(), 'parameters', parameters);
    case 'jpeg95':
    case 'jpeg80':
      return addJpegUserComment(
        await input.jpeg({ quality: format === 'jpeg95' ? 95 : 80, chromaSubsampling: format === 'jpeg95' ? '4:4:4' : '4:2:0' }).toBuffer(),
        parameters,
      );
    default:
      return assertNever(format, 'output format');
  }
}

export async function encodeThumbnail(image: RawImage): Promise<Buffer> {
  return sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(THUMB_SIDE, THUMB_SIDE, { fit: 'inside' })
    .webp({ quality: 80 })
    .toBuffer();
}

/** Writes via a temporary file and a rename, so a crash or a full disk never leaves half an image. */
export async function writeFileAtomic(file: string, data: Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.partial`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw storageError(e, file);
  }
}

/**
 * A failed write or read as the user should read it: the file it concerned (the error's own path when it
 * has one, else `file`) and the real cause: a full disk, a permission, a damaged database, or the
 * system's own message. Never a generic "could not write" that hides which file and why.
 */
export function storageError(e: unknown, file: string): StudioError {
  if (e instanceof StudioError) return e;
  const err = e as NodeJS.ErrnoException;
  const path = typeof err.path === 'string' ? err.path : file;
  const code = typeof err.code === 'string' ? err.code : undefined;
  const message = e instanceof Error ? e.message : String(e);
  // SQLite says SQLITE_FULL where the file system says ENOSPC; SQLITE_IOERR_WRITE etc. keep their base.
  if (code === 'ENOSPC' || code === 'SQLITE_FULL' || code === 'EDQUOT') {
    return new StudioError('storage-failed', notice('error.storage.diskFull', { dir: dirname(path) }), path);
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'SQLITE_READONLY' || code?.startsWith('SQLITE_READONLY_') || code === 'SQLITE_CANTOPEN') {
    return new StudioError('storage-failed', notice('error.storage.notAllowed', { dir: dirname(path), code }), path);
  }
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB' || code?.startsWith('SQLITE_CORRUPT_')) {
    return new StudioError('database-corrupt', notice('error.database.corrupt', { file: path, detail: message }), path);
  }
  if (code === 'ENOENT') return new StudioError('storage-failed', notice('error.storage.missing', { file: path, message }), path);
  return new StudioError('storage-failed', notice('error.storage.failed', { file: path, message: code && !message.includes(code) ? `${message} (${code})` : message }), path);
}

export interface SavedFiles {
  readonly imageFile: string;
  readonly thumbFile: string;
}

/** Saves image and thumbnail under the data folders; paths returned are relative to those folders. */
export async function saveGeneratedImage(
  imagesDir: string,
  thumbsDir: string,
  id: string,
  createdAt: Date,
  image: RawImage,
  format: OutputFormat,
  parameters: string,
): Promise<SavedFiles> {
  const day = createdAt.toISOString().slice(0, 10);
  const imageFile = `${day}/${id}.${extensionFor(format)}`;
  const thumbFile = `${day}/${id}.webp`;
  const [encoded, thumb] = await Promise.all([encodeImage(image, format, parameters), encodeThumbnail(image)]);
  await writeFileAtomic(join(imagesDir, imageFile), encoded);
  try {
    await writeFileAtomic(join(thumbsDir, thumbFile), thumb);
  } catch (e) {
    await rm(join(imagesDir, imageFile), { force: true });
    throw e;
  }
  return { imageFile, thumbFile };
}
