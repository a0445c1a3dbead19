// Style LoRAs as data, not graph: the transformer graph has a few fixed "style slots" whose low-rank
// matrices are session inputs. Switching a style swaps the tensors fed to a slot and changing a strength
// changes one number; neither rebuilds the session nor touches the base weights.

import { StudioError } from '../../shared/result.js';
import { notice } from '../../shared/notices.js';
import { float16Tensor, floatTensor, type OrtTensor } from '../ort.js';
import { readSafetensorsHeader, readTensorBytes } from '../safetensors/safetensors.js';
import type { WeightRef } from '../safetensors/weight-set.js';
import type { LoraWeights } from './lora-weights.js';

export interface StyleSlotLayout {
  readonly count: number;
  /** Every slot holds matrices of this rank; smaller LoRAs are zero-padded. */
  readonly rank: number;
  /** Module name -> [out, in] of the patched linear layer. */
  readonly targets: ReadonlyMap<string, readonly [number, number]>;
}

/** A style LoRA laid out for a slot: per module, A [rank, in] with alpha/r folded in, and B [out, rank]. */
export interface PreparedStyle {
  readonly file: string;
  readonly modules: ReadonlyMap<string, { readonly a: Float32Array; readonly b: Float32Array }>;
}

export function slotInputNames(slot: number, module: string): { a: string; b: string } {
  return { a: `style${slot}.${module}.a`, b: `style${slot}.${module}.b` };
}

export function slotScaleName(slot: number): string {
  return `style_scale_${slot}`;
}

/** A float tensor (F32, BF16 or F16) read as float32 values. */
export function toFloat32(bytes: Uint8Array, ref: WeightRef): Float32Array {
  const n = ref.shape.reduce((a, b) => a * b, 1);
  switch (ref.dtype) {
    case 'F32':
      return new Float32Array(bytes.slice().buffer);
    case 'BF16': {
      const u16 = new Uint16Array(bytes.slice().buffer);
      const u32 = new Uint32Array(n);
      for (let i = 0; i < n; i++) u32[i] = u16[i]! << 16;
      return new Float32Array(u32.buffer);
    }
    case 'F16': {
      const u16 = new Uint16Array(bytes.slice().buffer);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const h = u16[i]!;
        const e = (h >> 10) & 0x1f;
        const f = h & 0x3ff;
        const v = e === 0 ? 2 ** -14 * (f / 1024) : e === 31 ? (f ? NaN : Infinity) : 2 ** (e - 15) * (1 + f / 1024);
        out[i] = h & 0x8000 ? -v : v;
      }
      return out;
    }
    default:
      throw new StudioError('model-unsupported', notice('error.loraDtype', { file: ref.file, name: ref.name, dtype: ref.dtype }), ref.name);
  }
}

/** Reads a style LoRA once into slot layout; the result can be fed to any slot, any number of times. */
export async function prepareStyle(lora: LoraWeights, layout: StyleSlotLayout): Promise<PreparedStyle> {
  const header = await readSafetensorsHeader(lora.file);
  const modules = new Map<string, { a: Float32Array; b: Float32Array }>();
  for (const m of lora.modules.values()) {
    const shape = layout.targets.get(m.target);
    if (!shape) {
      throw new StudioError(
        'model-unsupported',
        notice('error.styleSlotTarget', { file: lora.file, target: m.target }),
        m.target,
      );
    }
    if (m.rank > layout.rank) {
      throw new StudioError('model-unsupported', notice('error.styleSlotRank', { file: lora.file, rank: m.rank, max: layout.rank }), m.target);
    }
    const [outF, inF] = shape;
    const down = toFloat32(await readTensorBytes(header, m.down.name), m.down);
    const up = toFloat32(await readTensorBytes(header, m.up.name), m.up);
    const a = new Float32Array(layout.rank * inF);
    const factor = m.alpha / m.rank;
    for (let i = 0; i < down.length; i++) a[i] = down[i]! * factor; // rows beyond the LoRA's rank stay 0
    const b = new Float32Array(outF * layout.rank);
    for (let o = 0; o < outF; o++) for (let r = 0; r < m.rank; r++) b[o * layout.rank + r] = up[o * m.rank + r]!;
    modules.set(m.target, { a, b });
  }
  return { file: lora.file, modules };
}

/**
 * The session inputs of a graph's style slots: per slot, every target's A/B matrices (zeros when the slot
 * is empty) and the slot's strength. Filling a slot swaps tensors; the session stays as it is.
 */
export class StyleSlotFeeds {
  private readonly slots: Record<string, OrtTensor>[];
  private readonly zeros = new Map<string, OrtTensor>();

  /** `half`: the graph takes its slot matrices as float16 (ModelGraph.slotType of a half-precision graph). */
  constructor(
    readonly layout: StyleSlotLayout,
    private readonly half = false,
  ) {
    this.slots = Array.from({ length: layout.count }, () => ({}));
  }

  private matrix(data: Float32Array, dims: readonly number[]): Promise<OrtTensor> {
    return this.half ? float16Tensor(data, dims) : floatTensor(data, dims);
  }

  /** Puts a prepared style in slot k (undefined empties it). */
  async set(slot: number, style: PreparedStyle | undefined): Promise<void> {
    const layout = this.layout;
    if (slot < 0 || slot >= layout.count) throw new RangeError(`no style slot ${slot}`);
    const feeds: Record<string, OrtTensor> = {};
    for (const [module, [outF, inF]] of layout.targets) {
      const names = slotInputNames(slot, module);
      const m = style?.modules.get(module);
      feeds[names.a] = m ? await this.matrix(m.a, [layout.rank, inF]) : await this.zero([layout.rank, inF]);
      feeds[names.b] = m ? await this.matrix(m.b, [outF, layout.rank]) : await this.zero([outF, layout.rank]);
    }
    this.slots[slot] = feeds;
  }

  /** Every slot input, with strength `scales[k]` for slot k (default 0: no effect). */
  async feeds(scales: readonly number[] = []): Promise<Record<string, OrtTensor>> {
    const out: Record<string, OrtTensor> = {};
    for (const slot of this.slots) Object.assign(out, slot);
    for (let k = 0; k < this.layout.count; k++) out[slotScaleName(k)] = await floatTensor(Float32Array.of(scales[k] ?? 0), [1]);
    return out;
  }

  private async zero(dims: readonly number[]): Promise<OrtTensor> {
    const key = dims.join('x');
    let t = this.zeros.get(key);
    if (!t) {
      t = await this.matrix(new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
      this.zeros.set(key, t);
    }
    return t;
  }
}
