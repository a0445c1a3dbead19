// Blockwise symmetric quantization in ONNX Runtime's MatMulNBits layout.
//
// A linear weight W [N, K] (PyTorch's [out, in], which is exactly the layout MatMulNBits wants for B) is
// cut along K into blocks; each block keeps one float scale and `bits`-bit codes with the default zero
// point 2^(bits-1), so no zero-point tensor is stored. The value of largest magnitude maps to the lowest
// code, which uses all 2^bits levels (ONNX Runtime's own symmetric quantizer does the same).
// 4-bit codes are packed two per byte, the first element in the low nibble.

export type Bits = 4 | 8;

export interface QuantizedMatrix {
  /** [N, K / blockSize, blockSize * bits / 8] */
  readonly packed: Uint8Array;
  /** [N * K / blockSize] */
  readonly scales: Float32Array;
}

export function quantizeMatrix(w: Float32Array, n: number, k: number, bits: Bits, blockSize: number): QuantizedMatrix {
  if (k % blockSize !== 0) throw new RangeError(`K=${k} is not a multiple of the block size ${blockSize}`);
  if (w.length !== n * k) throw new RangeError(`${w.length} values for a ${n}x${k} matrix`);
  const blocks = k / blockSize;
  const blob = (blockSize * bits) / 8;
  const zero = 1 << (bits - 1);
  const maxCode = (1 << bits) - 1;
  const packed = new Uint8Array(n * blocks * blob);
  const scales = new Float32Array(n * blocks);
  for (let row = 0; row < n; row++) {
    for (let b = 0; b < blocks; b++) {
      const start = row * k + b * blockSize;
      let extreme = 0;
      let largest = 0;
      for (let j = 0; j < blockSize; j++) {
        const v = w[start + j]!;
        const a = v < 0 ? -v : v;
        if (a > largest) {
          largest = a;
          extreme = v;
        }
      }
      const scale = Math.fround(extreme / -zero);
      scales[row * blocks + b] = scale;
      const out = (row * blocks + b) * blob;
      // Codes from the stored (float32) scale, so dequantizing reproduces exactly what was rounded against.
      const inv = scale === 0 ? 0 : 1 / scale;
      for (let j = 0; j < blockSize; j++) {
        let code = Math.round(w[start + j]! * inv) + zero;
        code = code < 0 ? 0 : code > maxCode ? maxCode : code;
        if (bits === 8) packed[out + j] = code;
        else if ((j & 1) === 0) packed[out + (j >> 1)] = code;
        else packed[out + (j >> 1)]! |= code << 4;
      }
    }
  }
  return { packed, scales };
}

/** The float matrix a quantized one stands for: what MatMulNBits multiplies by. */
export function dequantizeMatrix(q: QuantizedMatrix, n: number, k: number, bits: Bits, blockSize: number): Float32Array {
  const blocks = k / blockSize;
  const blob = (blockSize * bits) / 8;
  const zero = 1 << (bits - 1);
  const w = new Float32Array(n * k);
  for (let row = 0; row < n; row++) {
    for (let b = 0; b < blocks; b++) {
      const scale = q.scales[row * blocks + b]!;
      const at = (row * blocks + b) * blob;
      for (let j = 0; j < blockSize; j++) {
        const byte = q.packed[at + (bits === 8 ? j : j >> 1)]!;
        const code = bits === 8 ? byte : (j & 1) === 0 ? byte & 15 : byte >> 4;
        w[row * k + b * blockSize + j] = (code - zero) * scale;
      }
    }
  }
  return w;
}

/** Block sizes used by the studio: 32 for 4-bit (finer scales matter more), 64 for 8-bit. */
export function blockSizeFor(bits: Bits): number {
  return bits === 4 ? 32 : 64;
}

/** Half and bfloat16 bytes to float32, as stored in safetensors (little-endian). */
export function toFloat32(bytes: Uint8Array, dtype: string): Float32Array {
  const count = bytes.length / (dtype === 'F32' ? 4 : 2);
  if (dtype === 'F32') return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const halves = new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const out = new Float32Array(count);
  if (dtype === 'BF16') {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) bits[i] = halves[i]! << 16;
    return out;
  }
  if (dtype !== 'F16') throw new Error(`cannot quantize ${dtype} weights`);
  for (let i = 0; i < count; i++) {
    const h = halves[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    out[i] = exp === 0 ? sign * frac * 2 ** -24 : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}
