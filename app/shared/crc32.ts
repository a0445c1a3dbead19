// CRC-32 (IEEE), as PNG chunks and ZIP entries use it.

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Continues `crc` (0 to start) over `bytes`, so large data can be checked chunk by chunk. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = crc ^ 0xffffffff;
  for (const b of bytes) c = TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
