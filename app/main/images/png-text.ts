// Reads and writes PNG text chunks, where A1111-compatible tools keep an image's "parameters".

import { crc32 } from '../../shared/crc32.js';

const PNG_SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

function isLatin1(text: string): boolean {
  return !/[\u0100-\uffff]/.test(text); // no code unit above 0xff (surrogates included)
}

/**
 * Inserts a text chunk right after IHDR. Latin-1 text goes in tEXt (what A1111 writes); anything else
 * (Chinese prompts) in an uncompressed UTF-8 iTXt chunk, which the same readers accept.
 */
export function addPngText(png: Uint8Array, keyword: string, text: string): Buffer {
  if (!Buffer.from(png.subarray(0, 8)).equals(Buffer.from(PNG_SIGNATURE))) throw new Error('not a PNG file');
  const ihdrLength = Buffer.from(png).readUInt32BE(8);
  const afterIhdr = 8 + 12 + ihdrLength;
  const body = isLatin1(text)
    ? chunk('tEXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0]), Buffer.from(text, 'latin1')]))
    : chunk(
        'iTXt',
        Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0, 0, 0, 0, 0]), Buffer.from(text, 'utf8')]),
      );
  return Buffer.concat([png.subarray(0, afterIhdr), body, png.subarray(afterIhdr)]);
}

/** All tEXt and uncompressed iTXt chunks of a PNG, keyword to text. */
export function readPngText(png: Uint8Array): Record<string, string> {
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (!buf.subarray(0, 8).equals(Buffer.from(PNG_SIGNATURE))) throw new Error('not a PNG file');
  const out: Record<string, string> = {};
  let pos = 8;
  while (pos + 12 <= buf.length) {
    const length = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + length);
    if (type === 'tEXt') {
      const nul = data.indexOf(0);
      out[data.toString('latin1', 0, nul)] = data.toString('latin1', nul + 1);
    } else if (type === 'iTXt') {
      const nul = data.indexOf(0);
      const compressed = data[nul + 1];
      // Skip compression flag and method, then the language tag and translated keyword (both NUL-ended).
      const langEnd = data.indexOf(0, nul + 3);
      const transEnd = data.indexOf(0, langEnd + 1);
      if (compressed === 0) out[data.toString('latin1', 0, nul)] = data.toString('utf8', transEnd + 1);
    } else if (type === 'IEND') break;
    pos += 12 + length;
  }
  return out;
}
