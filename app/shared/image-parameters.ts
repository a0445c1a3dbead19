// Reads the "parameters" text other tools (and the studio) embed in an image: a PNG tEXt/iTXt chunk, or a
// JPEG's EXIF UserComment ("UNICODE\0" + UTF-16, or "ASCII\0\0\0"). Plain bytes in, so the renderer can
// read a dropped file and the tests a written one.

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

export type ImageKind = 'png' | 'jpeg' | 'other';

export function imageKind(bytes: Uint8Array): ImageKind {
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'jpeg';
  return 'other';
}

/** The embedded parameters text of a PNG or JPEG, or undefined when there is none. */
export function readImageParameters(bytes: Uint8Array): string | undefined {
  const kind = imageKind(bytes);
  if (kind === 'png') return pngText(bytes).parameters;
  if (kind === 'jpeg') return jpegUserComment(bytes);
  return undefined;
}

/** The uncompressed text chunks of a PNG, keyword to text. */
export function pngText(bytes: Uint8Array): Record<string, string> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Record<string, string> = {};
  let pos = 8;
  while (pos + 12 <= bytes.length) {
    const length = view.getUint32(pos);
    const type = latin1.decode(bytes.subarray(pos + 4, pos + 8));
    const data = bytes.subarray(pos + 8, Math.min(bytes.length, pos + 8 + length));
    const nul = data.indexOf(0);
    if (type === 'tEXt' && nul > 0) {
      out[latin1.decode(data.subarray(0, nul))] = latin1.decode(data.subarray(nul + 1));
    } else if (type === 'iTXt' && nul > 0 && data[nul + 1] === 0) {
      // Keyword, compression flag and method, language tag and translated keyword (both NUL-ended), text.
      const langEnd = data.indexOf(0, nul + 3);
      const transEnd = langEnd < 0 ? -1 : data.indexOf(0, langEnd + 1);
      if (transEnd > 0) out[latin1.decode(data.subarray(0, nul))] = utf8.decode(data.subarray(transEnd + 1));
    } else if (type === 'IEND') {
      break;
    }
    pos += 12 + length;
  }
  return out;
}

/** The EXIF UserComment of a JPEG (APP1 "Exif\0\0", either byte order). */
export function jpegUserComment(bytes: Uint8Array): string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 2;
  while (pos + 4 <= bytes.length && bytes[pos] === 0xff) {
    const marker = bytes[pos + 1]!;
    if (marker === 0xda || marker === 0xd9) break; // image data: no more metadata segments
    const size = view.getUint16(pos + 2);
    if (marker === 0xe1 && latin1.decode(bytes.subarray(pos + 4, pos + 10)) === 'Exif\0\0') {
      const found = exifUserComment(bytes.subarray(pos + 10, pos + 2 + size));
      if (found !== undefined) return found;
    }
    pos += 2 + size;
  }
  return undefined;
}

function exifUserComment(tiff: Uint8Array): string | undefined {
  if (tiff.length < 8) return undefined;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const little = tiff[0] === 0x49;
  const u16 = (at: number) => view.getUint16(at, little);
  const u32 = (at: number) => view.getUint32(at, little);
  const entry = (ifd: number, tag: number): { count: number; value: number } | undefined => {
    if (ifd + 2 > tiff.length) return undefined;
    const n = u16(ifd);
    for (let i = 0; i < n; i++) {
      const at = ifd + 2 + i * 12;
      if (at + 12 > tiff.length) return undefined;
      if (u16(at) === tag) return { count: u32(at + 4), value: u32(at + 8) };
    }
    return undefined;
  };
  const exifIfd = entry(u32(4), 0x8769);
  const comment = exifIfd && entry(exifIfd.value, 0x9286);
  if (!comment || comment.value + comment.count > tiff.length || comment.count < 8) return undefined;
  const raw = tiff.subarray(comment.value, comment.value + comment.count);
  const prefix = latin1.decode(raw.subarray(0, 8));
  const body = raw.subarray(8);
  if (prefix === 'UNICODE\0') {
    // piexif writes UTF-16 in the file's byte order; some writers put a byte-order mark first.
    const bom = body[0] === 0xff && body[1] === 0xfe ? 'le' : body[0] === 0xfe && body[1] === 0xff ? 'be' : little ? 'le' : 'be';
    return new TextDecoder(bom === 'le' ? 'utf-16le' : 'utf-16be').decode(body).replace(/^\uFEFF/, '').replace(/\0+$/, '');
  }
  return utf8.decode(body).replace(/\0+$/, '');
}
