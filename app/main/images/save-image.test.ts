import { mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readJpegUserComment } from './jpeg-exif.js';
import { readPngText } from './png-text.js';
import { encodeImage, saveGeneratedImage, storageError, writeFileAtomic } from './save-image.js';

const width = 64;
const height = 48;
const rgb = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 7) % 256);
const image = { width, height, rgb };
const parameters = '一只红色的狐狸, snow\nSteps: 4, Seed: 7, Size: 64x48';

describe('images', () => {
  it('writes PNG with a parameters text chunk and exact pixels', async () => {
    const png = await encodeImage(image, 'png', parameters);
    expect(readPngText(png).parameters).toBe(parameters);
    const decoded = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect(decoded.info).toMatchObject({ width, height, channels: 3 });
    expect(Buffer.from(rgb).equals(decoded.data)).toBe(true);
  });

  it('writes Latin-1 parameters as tEXt, the chunk A1111 writes', async () => {
    const png = await encodeImage(image, 'png', 'a fox\nSteps: 4');
    expect(Buffer.from(png).includes(Buffer.from('tEXtparameters\0a fox'))).toBe(true);
  });

  it.each(['jpeg95', 'jpeg80'] as const)('writes %s with the parameters in EXIF UserComment (UTF-16, as A1111 does)', async (format) => {
    const jpg = await encodeImage(image, format, parameters);
    expect(readJpegUserComment(jpg)).toBe(parameters);
    const meta = await sharp(jpg).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width, height });
    expect(meta.exif?.length).toBeGreaterThan(0);
  });

  it('saves image and thumbnail under dated folders', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'studio-img-'));
    const saved = await saveGeneratedImage(join(dir, 'images'), join(dir, 'thumbs'), 'abc', new Date('2026-01-02T03:04:05Z'), image, 'png', parameters);
    expect(saved).toEqual({ imageFile: '2026-01-02/abc.png', thumbFile: '2026-01-02/abc.webp' });
    expect(readPngText(readFileSync(join(dir, 'images', saved.imageFile))).parameters).toBe(parameters);
    expect((await sharp(join(dir, 'thumbs', saved.thumbFile)).metadata()).format).toBe('webp');
  });

  it('names the cause of a write failure: full disk, no permission', () => {
    const full = storageError(Object.assign(new Error('no space'), { code: 'ENOSPC' }), '/data/images/a.png');
    expect(full.message).toMatch(/disk holding \/data\/images is full; nothing was saved there/);
    const denied = storageError(Object.assign(new Error('denied'), { code: 'EACCES' }), '/data/images/a.png');
    expect(denied.message).toMatch(/may not write to \/data\/images \(EACCES\)/);
  });

  it('leaves no partial file when a write fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'studio-atomic-'));
    // A directory where the file should go makes the final rename fail after the data was written.
    mkdirSync(join(dir, 'taken.png'));
    mkdirSync(join(dir, 'taken.png', 'inside'));
    await expect(writeFileAtomic(join(dir, 'taken.png'), Buffer.from('x'))).rejects.toMatchObject({ code: 'storage-failed' });
    expect(readdirSync(dir)).toEqual(['taken.png']);
  });
});
