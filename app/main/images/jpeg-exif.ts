// Writes and reads the EXIF UserComment of a JPEG, where A1111-compatible tools keep "parameters".
//
// sharp can write EXIF strings, but only as ASCII (Chinese prompts become '?'), so the segment is
// built here: a big-endian TIFF with IFD0 -> Exif IFD -> UserComment, "UNICODE\0" + UTF-16BE text,
// which is what A1111 (piexif) writes and reads.

const UNICODE_PREFIX = Buffer.from('UNICODE\0', 'latin1');
const EXIF_HEADER = Buffer.from('Exif\0\0', 'latin1');
const TAG_EXIF_IFD = 0x8769;
const TAG_USER_COMMENT = 0x9286;
const TYPE_LONG = 4;
const TYPE_UNDEFINED = 7;

function utf16be(text: string): Buffer {
  const le = Buffer.from(text, 'utf16le');
  for (let i = 0; i + 1 < le.length; i += 2) {
    const a = le[i]!;
    le[i] = le[i + 1]!;
    le[i + 1] = a;
  }
  return le;
}

function buildExif(text: string): Buffer {
  const comment = Buffer.concat([UNICODE_PREFIX, utf16be(text)]);
  // TIFF header (8) + IFD0 with one entry (2 + 12 + 4) + Exif IFD with one entry (2 + 12 + 4) + data.
  const ifd0 = 8;
  const exifIfd = ifd0 + 18;
  const dataAt = exifIfd + 18;
  const tiff = Buffer.alloc(dataAt + comment.length);
  tiff.write('MM', 0, 'latin1');
  tiff.writeUInt16BE(42, 2);
  tiff.writeUInt32BE(ifd0, 4);
  tiff.writeUInt16BE(1, ifd0);
  tiff.writeUInt16BE(TAG_EXIF_IFD, ifd0 + 2);
  tiff.writeUInt16BE(TYPE_LONG, ifd0 + 4);
  tiff.writeUInt32BE(1, ifd0 + 6);
  tiff.writeUInt32BE(exifIfd, ifd0 + 10);
  tiff.writeUInt32BE(0, ifd0 + 14);
  tiff.writeUInt16BE(1, exifIfd);
  tiff.writeUInt16BE(TAG_USER_COMMENT, exifIfd + 2);
  tiff.writeUInt16BE(TYPE_UNDEFINED, exifIfd + 4);
  tiff.writeUInt32BE(comment.length, exifIfd + 6);
  tiff.writeUInt32BE(dataAt, exifIfd + 10);
  tiff.writeUInt32BE(0, exifIfd + 14);
  comment.copy(tiff, dataAt);
  return Buffer.concat([EXIF_HEADER, tiff]);
}

/** Inserts an APP1 Exif segment after SOI (and after a JFIF APP0 if present). */
export function addJpegUserComment(jpeg: Uint8Array, text: string): Buffer {
  const buf = Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength);
  if (buf[0] !== 0xff || buf[1] !== 0xd8) throw new Error('not a JPEG file');
  const payload = buildExif(text);
  if (payload.length + 2 > 0xffff) throw new Error('the parameters text is too long for a JPEG EXIF segment');
  let insertAt = 2;
  if (buf[2] === 0xff && buf[3] === 0xe0) insertAt = 4 + buf.readUInt16BE(4);
  const header = Buffer.alloc(4);
  header.writeUInt16BE(0xffe1, 0);
  header.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([buf.subarray(0, insertAt), header, payload, buf.subarray(insertAt)]);
}

/** The UserComment text of a JPEG written by addJpegUserComment (or any big/little-endian EXIF). */
export function readJpegUserComment(jpeg: Uint8Array): string | undefined {
  const buf = Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength);
  let pos = 2;
  while (pos + 4 <= buf.length && buf[pos] === 0xff) {
    const marker = buf[pos + 1]!;
    const length = buf.readUInt16BE(pos + 2);
    if (marker === 0xe1 && buf.subarray(pos + 4, pos + 10).equals(EXIF_HEADER)) {
      return userCommentFromTiff(buf.subarray(pos + 10, pos + 2 + length));
    }
    if (marker === 0xda) break;
    pos += 2 + length;
  }
  return undefined;
}

function userCommentFromTiff(tiff: Buffer): string | undefined {
  const be = tiff.toString('latin1', 0, 2) === 'MM';
  const u16 = (o: number) => (be ? tiff.readUInt16BE(o) : tiff.readUInt16LE(o));
  const u32 = (o: number) => (be ? tiff.readUInt32BE(o) : tiff.readUInt32LE(o));
  const findTag = (ifd: number, tag: number): number | undefined => {
    const n = u16(ifd);
    for (let i = 0; i < n; i++) if (u16(ifd + 2 + i * 12) === tag) return ifd + 2 + i * 12;
    return undefined;
  };
  const exifEntry = findTag(u32(4), TAG_EXIF_IFD);
  if (exifEntry === undefined) return undefined;
  const commentEntry = findTag(u32(exifEntry + 8), TAG_USER_COMMENT);
  if (commentEntry === undefined) return undefined;
  const count = u32(commentEntry + 4);
  const data = tiff.subarray(u32(commentEntry + 8), u32(commentEntry + 8) + count);
  const prefix = data.toString('latin1', 0, 8);
  const body = data.subarray(8);
  if (prefix === 'UNICODE\0') {
    const swapped = Buffer.from(body);
    for (let i = 0; i + 1 < swapped.length; i += 2) {
      const a = swapped[i]!;
      swapped[i] = swapped[i + 1]!;
      swapped[i + 1] = a;
    }
    return swapped.toString('utf16le');
  }
  return body.toString('latin1').replace(/\0+$/, '');
}
