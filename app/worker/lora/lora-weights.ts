// Reads a LoRA file for the engine: recognises the key formats trainers write and maps every pair of
// low-rank matrices onto the module of the base model it patches, refusing keys that match nothing.

import { StudioError } from '../../shared/result.js';
import { readSafetensorsHeader, readTensorBytes, type SafetensorsHeader } from '../safetensors/safetensors.js';
import type { WeightRef, WeightSet } from '../safetensors/weight-set.js';

export type LoraFormat = 'lightx2v' | 'peft' | 'kohya';

export interface LoraModule {
  /** The base model's module, e.g. transformer_blocks.0.attn.to_q. */
  readonly target: string;
  readonly down: WeightRef;
  readonly up: WeightRef;
  readonly rank: number;
  /** alpha / rank scales the update; a file without alpha means alpha = rank (diffusers/PEFT convention). */
  readonly alpha: number;
}

export interface LoraWeights {
  readonly file: string;
  readonly format: LoraFormat;
  readonly modules: ReadonlyMap<string, LoraModule>;
  readonly metadata: Readonly<Record<string, string>>;
}

const PREFIXES = ['base_model.model.', 'transformer.', 'diffusion_model.', 'model.diffusion_model.'];

interface Parsed {
  module: string;
  part: 'down' | 'up' | 'alpha';
  format: LoraFormat;
}

function parseKey(key: string, kohyaNames: ReadonlyMap<string, string>): Parsed | undefined {
  let m = /^(.*)\.lora_(down|up)\.weight$/.exec(key);
  if (m) {
    const module = m[1]!;
    if (module.startsWith('lora_unet_')) {
      const target = kohyaNames.get(module.slice('lora_unet_'.length));
      return target ? { module: target, part: m[2] as 'down' | 'up', format: 'kohya' } : undefined;
    }
    return { module: stripPrefix(module), part: m[2] as 'down' | 'up', format: 'lightx2v' };
  }
  m = /^(.*)\.lora_([AB])(?:\.default)?\.weight$/.exec(key);
  if (m) return { module: stripPrefix(m[1]!), part: m[2] === 'A' ? 'down' : 'up', format: 'peft' };
  m = /^(.*)\.alpha$/.exec(key);
  if (m) {
    const module = m[1]!;
    if (module.startsWith('lora_unet_')) {
      const target = kohyaNames.get(module.slice('lora_unet_'.length));
      return target ? { module: target, part: 'alpha', format: 'kohya' } : undefined;
    }
    return { module: stripPrefix(module), part: 'alpha', format: 'lightx2v' };
  }
  return undefined;
}

function stripPrefix(name: string): string {
  for (const p of PREFIXES) if (name.startsWith(p)) return name.slice(p.length);
  return name;
}

async function readAlpha(header: SafetensorsHeader, key: string): Promise<number> {
  const t = header.tensors.get(key)!;
  const bytes = await readTensorBytes(header, key);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (t.dtype) {
    case 'F32':
      return view.getFloat32(0, true);
    case 'F16':
      return halfToFloat(view.getUint16(0, true));
    case 'BF16':
      return new Float32Array(Uint32Array.of(view.getUint16(0, true) << 16).buffer)[0]!;
    case 'F64':
      return view.getFloat64(0, true);
    default:
      throw new StudioError('invalid-request', `${header.file}: ${key} has dtype ${t.dtype}; alpha must be a float.`, key);
  }
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * Maps a LoRA file onto `base`. Every key must patch a linear layer of the base model with matching
 * shapes; anything else is refused with the list of keys that did not match (a LoRA for another model).
 */
export async function loadLora(file: string, base: WeightSet): Promise<LoraWeights> {
  const header = await readSafetensorsHeader(file);
  const linear = base.names().filter((n) => n.endsWith('.weight') && base.get(n).shape.length === 2).map((n) => n.slice(0, -'.weight'.length));
  const kohyaNames = new Map(linear.map((n) => [n.replaceAll('.', '_'), n]));
  const parts = new Map<string, { down?: WeightRef; up?: WeightRef; alphaKey?: string }>();
  const unmatched: string[] = [];
  const formats = new Set<LoraFormat>();
  for (const t of header.tensors.values()) {
    const parsed = parseKey(t.name, kohyaNames);
    if (!parsed || !base.has(`${parsed.module}.weight`)) {
      unmatched.push(t.name);
      continue;
    }
    formats.add(parsed.format);
    const entry = parts.get(parsed.module) ?? {};
    const ref: WeightRef = { name: t.name, file, dtype: t.dtype, shape: t.shape, offset: t.offset, byteLength: t.byteLength };
    if (parsed.part === 'alpha') entry.alphaKey = t.name;
    else entry[parsed.part] = ref;
    parts.set(parsed.module, entry);
  }
  if (unmatched.length > 0) {
    const shown = unmatched.slice(0, 8).join(', ');
    throw new StudioError(
      'model-unsupported',
      `This LoRA does not fit the loaded model: ${unmatched.length} of ${header.tensors.size} tensors match no layer of it (${shown}${unmatched.length > 8 ? ', …' : ''}). It was probably made for another base model; nothing was applied.`,
      unmatched.join('\n'),
    );
  }
  const modules = new Map<string, LoraModule>();
  for (const [target, p] of parts) {
    if (!p.down || !p.up) throw new StudioError('model-unsupported', `${file}: ${target} has only one of its two LoRA matrices.`, target);
    const [outF, inF] = base.get(`${target}.weight`).shape as [number, number];
    const rank = p.down.shape[0]!;
    if (p.down.shape.length !== 2 || p.up.shape.length !== 2 || p.down.shape[1] !== inF || p.up.shape[0] !== outF || p.up.shape[1] !== rank) {
      throw new StudioError(
        'model-unsupported',
        `${file}: the LoRA for ${target} has shapes [${p.down.shape.join(', ')}] and [${p.up.shape.join(', ')}], but the layer is [${outF}, ${inF}]; it was made for another model size.`,
        target,
      );
    }
    const alpha = p.alphaKey ? await readAlpha(header, p.alphaKey) : rank;
    modules.set(target, { target, down: p.down, up: p.up, rank, alpha });
  }
  if (modules.size === 0) throw new StudioError('model-unsupported', `${file} holds no LoRA weights.`, file);
  if (formats.size > 1) throw new StudioError('model-unsupported', `${file} mixes LoRA key formats (${[...formats].join(', ')}).`, file);
  return { file, format: [...formats][0]!, modules, metadata: header.metadata };
}
