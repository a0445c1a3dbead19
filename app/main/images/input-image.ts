// Reads an image-to-image input: any format sharp decodes, oriented by its EXIF, flattened to RGB and
// fitted to the requested size (scaled to cover, centre-cropped), with the sha256 of the file's bytes for
// the recipe. An unreadable file is a clear error naming it.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import sharp from 'sharp';
import { notice } from '../../shared/notices.js';
import { StudioError } from '../../shared/result.js';

export interface InputImage {
  readonly width: number;
  readonly height: number;
  /** Interleaved 8-bit RGB, width x height. */
  readonly rgb: Uint8Array;
  readonly sha256: string;
}

export async function readInputImage(file: string, width: number, height: number, shownName = basename(file)): Promise<InputImage> {
  const fail = (reason: string) => new StudioError('invalid-request', notice('error.imageUndecodable', { file: shownName, reason }), file);
  const bytes = await readFile(file).catch((e: NodeJS.ErrnoException) => {
    throw fail(e.code === 'ENOENT' ? 'there is no such file' : e.message);
  });
  try {
    const { data, info } = await sharp(bytes, { failOn: 'error' })
      .rotate()
      .toColourspace('srgb')
      .removeAlpha()
      .resize(width, height, { fit: 'cover' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== width || info.height !== height) throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}`);
    return { width, height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), sha256: createHash('sha256').update(bytes).digest('hex') };
  } catch (e) {
    throw fail((e as Error).message.split('\n')[0]!.slice(0, 200));
  }
}
