// The safetensors format: dtypes and strict header validation, shared by every process (no I/O here).

export const DTYPE_BYTES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
} as const;
export type SafetensorsDtype = keyof typeof DTYPE_BYTES;

/** Real headers are well under a megabyte per thousand tensors; 100 MB guards against hostile lengths. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Absolute byte offset of the tensor's data in the file. */
  readonly offset: number;
  readonly byteLength: number;
}

export interface SafetensorsHeader {
  readonly file: string;
  readonly fileSize: number;
  readonly dataStart: number;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
}

export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
  constructor(
    readonly file: string,
    message: string,
    readonly tensor?: string,
  ) {
    super(`${file.split(/[\\/]/).pop()}${tensor ? ` (tensor ${tensor})` : ''}: ${message}`);
  }
}

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(DTYPE_BYTES, value);
}

/** Parses and validates a header given its bytes and the total file size. */
export function parseSafetensorsHeader(file: string, headerJson: Uint8Array, fileSize: number): SafetensorsHeader {
  const dataStart = 8 + headerJson.length;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerJson));
  } catch (e) {
    throw new SafetensorsError(file, `the header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SafetensorsError(file, 'the header is not a JSON object');
  }
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  const ranges: { begin: number; end: number; name: string }[] = [];
  for (const [name, entry] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        throw new SafetensorsError(file, '__metadata__ must be an object of strings');
      }
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw new SafetensorsError(file, `__metadata__.${k} is not a string`);
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    if (typeof entry !== 'object' || entry === null) throw new SafetensorsError(file, 'entry is not an object', name);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (!isDtype(dtype)) throw new SafetensorsError(file, `unsupported dtype ${JSON.stringify(dtype)}`, name);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(file, `shape ${JSON.stringify(shape)} is not a list of non-negative integers`, name);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(file, `data_offsets ${JSON.stringify(offsets)} is not [begin, end]`, name);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) throw new SafetensorsError(file, `data_offsets end ${end} is before begin ${begin}`, name);
    if (end > dataSize) {
      throw new SafetensorsError(
        file,
        `data ends at byte ${end} but the file holds only ${Math.max(0, dataSize)} data bytes (truncated or damaged download?)`,
        name,
      );
    }
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    const expected = elements * DTYPE_BYTES[dtype];
    if (end - begin !== expected) {
      throw new SafetensorsError(file, `holds ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${expected}`, name);
    }
    ranges.push({ begin, end, name });
    tensors.set(name, { name, dtype, shape: shape as number[], offset: dataStart + begin, byteLength: end - begin });
  }
  ranges.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1]!;
    const cur = ranges[i]!;
    if (cur.begin < prev.end && cur.end > cur.begin) {
      throw new SafetensorsError(file, `its data overlaps tensor ${prev.name}`, cur.name);
    }
  }
  return { file, fileSize, dataStart, tensors, metadata };
}

