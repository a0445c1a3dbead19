// Reading back what the studio (and A1111) write into PNG and JPEG files, from the bytes alone.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { addJpegUserComment } from '../main/images/jpeg-exif.js';
import { addPngText } from '../main/images/png-text.js';
import { readImageParameters } from './image-parameters.js';

const text = '一只红色的狐狸, snowy forest\nNegative prompt: blurry\nSteps: 4, Sampler: Euler, CFG scale: 1, Seed: 7, Size: 64x64';

describe('image parameters', () => {
  it('reads a PNG tEXt chunk (Latin-1) and an iTXt chunk (UTF-8)', async () => {
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } }).png().toBuffer();
    expect(readImageParameters(addPngText(png, 'parameters', 'a red fox\nSteps: 4, Seed: 1'))).toBe('a red fox\nSteps: 4, Seed: 1');
    expect(readImageParameters(addPngText(png, 'parameters', text))).toBe(text);
    expect(readImageParameters(addPngText(png, 'comment', 'not this one'))).toBeUndefined();
  });

  it('reads a JPEG EXIF UserComment in UTF-16, big- or little-endian', async () => {
    const jpeg = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } }).jpeg().toBuffer();
    const written = addJpegUserComment(jpeg, text);
    expect(readImageParameters(written)).toBe(text);
    // The same segment as a little-endian TIFF (what some writers produce).
    const le = Buffer.from(written);
    const at = le.indexOf('Exif\0\0', 0, 'latin1') + 6;
    const swap16 = (o: number) => le.writeUInt16LE(le.readUInt16BE(at + o), at + o);
    const swap32 = (o: number) => le.writeUInt32LE(le.readUInt32BE(at + o), at + o);
    le.write('II', at, 'latin1');
    swap16(2);
    swap32(4);
    for (const ifd of [8, 26]) {
      swap16(ifd);
      swap16(ifd + 2);
      swap16(ifd + 4);
      swap32(ifd + 6);
      swap32(ifd + 10);
    }
    const comment = at + 44 + 8;
    for (let i = comment; i + 1 < le.length && le[i - 1] !== 0xff; i += 2) {
      if (i + 1 >= at + 44 + 8 + text.length * 2) break;
      const a = le[i]!;
      le[i] = le[i + 1]!;
      le[i + 1] = a;
    }
    expect(readImageParameters(le)).toBe(text);
  });

  it('finds nothing in an image without parameters or in a file that is no image', async () => {
    expect(readImageParameters(await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } }).jpeg().toBuffer())).toBeUndefined();
    expect(readImageParameters(new TextEncoder().encode('not an image'))).toBeUndefined();
  });
});
