// Makes the app icons from assets/icon.svg with sharp: the PNG sizes AppImage and deb take
// (assets/icons/NxN.png), a 1024 px PNG (macOS), and the ICO the NSIS installer and the Windows app use
// (16-256 px, PNG-compressed entries as Windows Vista and later read them). Run after editing the SVG:
// node scripts/make-icons.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const assets = path.join(root, 'assets');
const svg = path.join(assets, 'icon.svg');
export const LINUX_SIZES = [16, 24, 32, 48, 64, 128, 256, 512];
export const ICO_SIZES = [16, 24, 32, 48, 64, 128, 256];

const png = (size) => sharp(svg, { density: Math.ceil((72 * size) / 1024) * 4 }).resize(size, size).png({ compressionLevel: 9 }).toBuffer();

/** An ICO file holding PNG images (each entry: size, 32 bpp, byte length and offset of its PNG). */
export function icoOf(images) {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // icon
  header.writeUInt16LE(images.length, 4);
  const entries = [];
  let offset = 6 + 16 * images.length;
  for (const { size, data } of images) {
    const e = Buffer.alloc(16);
    e.writeUInt8(size >= 256 ? 0 : size, 0); // 0 means 256
    e.writeUInt8(size >= 256 ? 0 : size, 1);
    e.writeUInt16LE(1, 4); // colour planes
    e.writeUInt16LE(32, 6); // bits per pixel
    e.writeUInt32LE(data.length, 8);
    e.writeUInt32LE(offset, 12);
    offset += data.length;
    entries.push(e);
  }
  return Buffer.concat([header, ...entries, ...images.map((i) => i.data)]);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  mkdirSync(path.join(assets, 'icons'), { recursive: true });
  for (const size of LINUX_SIZES) writeFileSync(path.join(assets, 'icons', `${size}x${size}.png`), await png(size));
  writeFileSync(path.join(assets, 'icon.png'), await png(1024));
  writeFileSync(path.join(assets, 'icon.ico'), icoOf(await Promise.all(ICO_SIZES.map(async (size) => ({ size, data: await png(size) })))));
  console.log(`icons written to ${assets}`);
}
