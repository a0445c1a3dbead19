// Reads a LoRA file for the engine: recognises the key formats trainers write and maps every pair of
// low-rank matrices onto the module of the base model it patches, refusing keys that match nothing.

import { StudioError } from '../../shared/result.js';
import { notice } from '../../shared/notices.js';
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

/** Which component a LoRA key patches, by the prefixes trainers write. */
export type LoraComponent = 'transformer' | 'text_encoder';

const PREFIXES: readonly [string, LoraComponent][] = [
  ['base_model.model.', 'transformer'],
  ['transformer.', 'transformer'],
  ['diffusion_model.', 'transformer'],
  ['model.diffusion_model.', 'transformer'],
  ['text_encoder.', 'text_encoder'],
];
const KOHYA_PREFIXES: readonly [string, LoraComponent][] = [
  ['lora_unet_', 'transformer'],
  ['lora_te1_', 'text_encoder'],
  ['lora_te_', 'text_encoder'],
];

interface Parsed {
  component: LoraComponent | undefined;
  module: string;
  part: 'down' | 'up' | 'alpha';
  format: LoraFormat;
}

function parseKey(key: string, kohyaNames: Readonly<Record<LoraComponent, ReadonlyMap<string, string>>>): Parsed | undefined {
  let m = /^(.*)\.lora_(down|up)\.weight$/.exec(key);
  let module: string;
  let part: Parsed['part'];
  let format: LoraFormat;
  if (m) {
    [module, part, format] = [m[1]!, m[2] as 'down' | 'up', 'lightx2v'];
  } else if ((m = /^(.*)\.lora_([AB])(?:\.default)?\.weight$/.exec(key))) {
    [module, part, format] = [m[1]!, m[2] === 'A' ? 'down' : 'up', 'peft'];
  } else if ((m = /^(.*)\.alpha$/.exec(key))) {
    [module, part, format] = [m[1]!, 'alpha', 'lightx2v'];
  } else return undefined;
  for (const [prefix, component] of KOHYA_PREFIXES) {
    if (module.startsWith(prefix)) {
      const target = kohyaNames[component].get(module.slice(prefix.length));
      return target ? { component, module: target, part, format: 'kohya' } : undefined;
    }
  }
  for (const [prefix, component] of PREFIXES) {
    if (module.startsWith(prefix)) return { component, module: module.slice(prefix.length), part, format };
  }
  return { component: undefined, module, part, format };
}

export async function readAlpha(header: SafetensorsHeader, key: string): Promise<number> {
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
      throw new StudioError('invalid-request', notice('error.loraAlphaDtype', { file: header.file, key, dtype: t.dtype }), key);
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

export interface LoraBases {
  readonly transformer: WeightSet;
  readonly textEncoder?: WeightSet;
}

function linearNames(base: WeightSet | undefined): Map<string, string> {
  if (!base) return new Map();
  const linear = base.names().filter((n) => n.endsWith('.weight') && base.get(n).shape.length === 2).map((n) => n.slice(0, -'.weight'.length));
  return new Map(linear.map((n) => [n.replaceAll('.', '_'), n]));
}

/**
 * Maps a LoRA file onto the model: each key patches a linear layer of the transformer or of the text
 * encoder, with matching shapes. Anything else is refused with the list of keys that matched nothing
 * (a LoRA for another model); nothing is applied partially.
 */
export async function loadLoraParts(file: string, bases: LoraBases): Promise<{ transformer?: LoraWeights; textEncoder?: LoraWeights }> {
  const header = await readSafetensorsHeader(file);
  const kohyaNames = { transformer: linearNames(bases.transformer), text_encoder: linearNames(bases.textEncoder) };
  const parts = { transformer: new Map<string, PartEntry>(), text_encoder: new Map<string, PartEntry>() };
  const unmatched: string[] = [];
  const formats = new Set<LoraFormat>();
  const baseOf = (c: LoraComponent) => (c === 'transformer' ? bases.transformer : bases.textEncoder);
  for (const t of header.tensors.values()) {
    const parsed = parseKey(t.name, kohyaNames);
    // Unprefixed keys belong to whichever component has the layer (the transformer first).
    const component =
      parsed?.component ??
      (parsed && bases.transformer.has(`${parsed.module}.weight`) ? 'transformer' : parsed && bases.textEncoder?.has(`${parsed.module}.weight`) ? 'text_encoder' : undefined);
    if (!parsed || !component || !baseOf(component)?.has(`${parsed.module}.weight`)) {
      unmatched.push(t.name);
      continue;
    }
    formats.add(parsed.format);
    const entry = parts[component].get(parsed.module) ?? {};
    const ref: WeightRef = { name: t.name, file, dtype: t.dtype, shape: t.shape, offset: t.offset, byteLength: t.byteLength };
    if (parsed.part === 'alpha') entry.alphaKey = t.name;
    else entry[parsed.part] = ref;
    parts[component].set(parsed.module, entry);
  }
  if (unmatched.length > 0) {
    const shown = unmatched.slice(0, 8).join(', ');
    throw new StudioError(
      'model-unsupported',
      notice('error.loraUnmatched', { count: unmatched.length, total: header.tensors.size, shown: `${shown}${unmatched.length > 8 ? ', …' : ''}` }),
      unmatched.join('\n'),
    );
  }
  if (formats.size > 1) throw new StudioError('model-unsupported', notice('error.loraMixedFormats', { file, formats: [...formats].join(', ') }), file);
  const format = [...formats][0] ?? 'lightx2v';
  const build = async (component: LoraComponent): Promise<LoraWeights | undefined> => {
    const base = baseOf(component)!;
    const modules = new Map<string, LoraModule>();
    for (const [target, p] of parts[component]) {
      if (!p.down || !p.up) throw new StudioError('model-unsupported', notice('error.loraHalfPair', { file, target }), target);
      const [outF, inF] = base.get(`${target}.weight`).shape as [number, number];
      const rank = p.down.shape[0]!;
      if (p.down.shape.length !== 2 || p.up.shape.length !== 2 || p.down.shape[1] !== inF || p.up.shape[0] !== outF || p.up.shape[1] !== rank) {
        throw new StudioError(
          'model-unsupported',
          notice('error.loraShape', { file, target, down: p.down.shape.join(', '), up: p.up.shape.join(', '), layer: `${outF}, ${inF}` }),
          target,
        );
      }
      const alpha = p.alphaKey ? await readAlpha(header, p.alphaKey) : rank;
      modules.set(target, { target, down: p.down, up: p.up, rank, alpha });
    }
    return modules.size > 0 ? { file, format, modules, metadata: header.metadata } : undefined;
  };
  const transformer = await build('transformer');
  const textEncoder = bases.textEncoder ? await build('text_encoder') : undefined;
  if (!transformer && !textEncoder) throw new StudioError('model-unsupported', notice('error.loraEmpty', { file }), file);
  return { ...(transformer ? { transformer } : {}), ...(textEncoder ? { textEncoder } : {}) };
}

type PartEntry = { down?: WeightRef; up?: WeightRef; alphaKey?: string };

/** The transformer part of a LoRA file; keys for anything else are refused. */
export async function loadLora(file: string, base: WeightSet): Promise<LoraWeights> {
  const { transformer } = await loadLoraParts(file, { transformer: base });
  if (!transformer) throw new StudioError('model-unsupported', notice('error.loraNoTransformer', { file }), file);
  return transformer;
}
