// A step preview (raw RGB from the worker) as a small JPEG data URL the renderer can show at once: a few
// kilobytes a step over IPC or the WebSocket, instead of tens of kilobytes of numbers in JSON.

import sharp from 'sharp';

export async function previewDataUrl(p: { readonly width: number; readonly height: number; readonly rgb: Uint8Array }): Promise<string> {
  const jpeg = await sharp(Buffer.from(p.rgb.buffer, p.rgb.byteOffset, p.rgb.byteLength), { raw: { width: p.width, height: p.height, channels: 3 } })
    .jpeg({ quality: 70 })
    .toBuffer();
  return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
}
