// Maps an SD/SDXL LoRA file onto the UNet and the text encoders. Understands kohya files (lora_unet_ /
// lora_te1_ / lora_te2_ / lora_te_ with either the original SGM module paths, input_blocks_4_1_..., or
// diffusers paths, down_blocks_1_attentions_0_...), diffusers files (unet. / text_encoder. / text_encoder_2.
// with lora.down / lora_linear_layer.down / processor.to_q_lora.down) and PEFT files (lora_A / lora_B).
// Linear and convolution layers are both patched; any key that fits no layer refuses the whole file.

import { basename } from 'node:path';
import { notice } from '../../shared/notices.js';
import { StudioError } from '../../shared/result.js';
import { readAlpha, type LoraFormat, type LoraModule, type LoraWeights } from '../lora/lora-weights.js';
import { readSafetensorsHeader } from '../safetensors/safetensors.js';
import type { WeightRef, WeightSet } from '../safetensors/weight-set.js';
import type { UnetConfig } from './unet-config.js';

export type SdLoraComponent = 'unet' | 'textEncoder' | 'textEncoder2';

export interface SdLoraBases {
  readonly unet: WeightSet;
  readonly unetConfig: UnetConfig;
  readonly textEncoder?: WeightSet;
  /** SDXL's second encoder; absent for SD 1.x/2.x. */
  readonly textEncoder2?: WeightSet;
}

export type SdLoraParts = Partial<Record<SdLoraComponent, LoraWeights>>;

const RESNET_TO_SGM: Readonly<Record<string, string>> = {
  norm1: 'in_layers.0',
  conv1: 'in_layers.2',
  time_emb_proj: 'emb_layers.1',
  norm2: 'out_layers.0',
  conv2: 'out_layers.3',
  conv_shortcut: 'skip_connection',
};

/**
 * The original (SGM/ldm) path of a diffusers UNet module, as kohya's trainers name it:
 * down_blocks.b.{resnets,attentions}.j -> input_blocks.{1 + sum of earlier blocks' (layers + 1) + j}.{0,1},
 * mid_block -> middle_block.{0,1,2}, up_blocks.b.* -> output_blocks.{sum of earlier blocks' resnets + j}.*.
 */
export function sgmModuleName(module: string, cfg: UnetConfig): string | undefined {
  const resnetInner = (rest: string) => {
    const [head, ...tail] = rest.split('.');
    const mapped = RESNET_TO_SGM[head!];
    return mapped ? [mapped, ...tail].join('.') : undefined;
  };
  let m: RegExpExecArray | null;
  if ((m = /^down_blocks\.(\d+)\.(resnets|attentions|downsamplers)\.(\d+)\.(.+)$/.exec(module))) {
    const b = Number(m[1]);
    const j = Number(m[3]);
    let start = 1;
    for (let k = 0; k < b; k++) start += cfg.down[k]!.resnets + 1;
    if (m[2] === 'downsamplers') return m[4] === 'conv' ? `input_blocks.${start + cfg.down[b]!.resnets}.0.op` : undefined;
    const inner = m[2] === 'resnets' ? resnetInner(m[4]!) : m[4];
    return inner ? `input_blocks.${start + j}.${m[2] === 'resnets' ? 0 : 1}.${inner}` : undefined;
  }
  if ((m = /^mid_block\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(module))) {
    const index = m[1] === 'attentions' ? 1 : Number(m[2]) === 0 ? 0 : 2;
    const inner = m[1] === 'resnets' ? resnetInner(m[3]!) : m[3];
    return inner ? `middle_block.${index}.${inner}` : undefined;
  }
  if ((m = /^up_blocks\.(\d+)\.(resnets|attentions|upsamplers)\.(\d+)\.(.+)$/.exec(module))) {
    const b = Number(m[1]);
    const j = Number(m[3]);
    let start = 0;
    for (let k = 0; k < b; k++) start += cfg.up[k]!.resnets;
    const block = cfg.up[b]!;
    if (m[2] === 'upsamplers') return m[4] === 'conv' ? `output_blocks.${start + block.resnets - 1}.${block.cross ? 2 : 1}.conv` : undefined;
    const inner = m[2] === 'resnets' ? resnetInner(m[4]!) : m[4];
    return inner ? `output_blocks.${start + j}.${m[2] === 'resnets' ? 0 : 1}.${inner}` : undefined;
  }
  const fixed: Record<string, string> = {
    conv_in: 'input_blocks.0.0',
    'time_embedding.linear_1': 'time_embed.0',
    'time_embedding.linear_2': 'time_embed.2',
    'add_embedding.linear_1': 'label_emb.0.0',
    'add_embedding.linear_2': 'label_emb.0.2',
    conv_norm_out: 'out.0',
    conv_out: 'out.2',
  };
  return fixed[module];
}

/** Underscored names (kohya's) of every layer a LoRA can patch: 2-D linear and 4-D conv weights. */
function underscoredNames(base: WeightSet | undefined, cfg?: UnetConfig): Map<string, string> {
  const names = new Map<string, string>();
  if (!base) return names;
  for (const n of base.names()) {
    if (!n.endsWith('.weight')) continue;
    const rank = base.get(n).shape.length;
    if (rank !== 2 && rank !== 4) continue;
    const module = n.slice(0, -'.weight'.length);
    names.set(module.replaceAll('.', '_'), module);
    const sgm = cfg ? sgmModuleName(module, cfg) : undefined;
    if (sgm) names.set(sgm.replaceAll('.', '_'), module);
  }
  return names;
}

interface ParsedKey {
  readonly component: SdLoraComponent | undefined;
  readonly module: string;
  readonly part: 'down' | 'up' | 'alpha';
  readonly format: LoraFormat;
}

const KOHYA: readonly [string, SdLoraComponent][] = [
  ['lora_unet_', 'unet'],
  ['lora_te1_', 'textEncoder'],
  ['lora_te2_', 'textEncoder2'],
  ['lora_te_', 'textEncoder'],
];
const DOTTED: readonly [string, SdLoraComponent][] = [
  ['unet.', 'unet'],
  ['text_encoder_2.', 'textEncoder2'],
  ['text_encoder.', 'textEncoder'],
];

function parseKey(key: string, underscored: Readonly<Record<SdLoraComponent, ReadonlyMap<string, string>>>): ParsedKey | undefined {
  const forms: readonly [RegExp, (m: RegExpExecArray) => [string, ParsedKey['part'], LoraFormat]][] = [
    [/^(.*)\.lora_(down|up)\.weight$/, (m) => [m[1]!, m[2] as 'down' | 'up', 'kohya']],
    [/^(.*)\.alpha$/, (m) => [m[1]!, 'alpha', 'kohya']],
    [/^(.*)\.lora_([AB])(?:\.default(?:_\d+)?)?\.weight$/, (m) => [m[1]!, m[2] === 'A' ? 'down' : 'up', 'peft']],
    [/^(.*)\.(?:lora|lora_linear_layer)\.(down|up)\.weight$/, (m) => [m[1]!, m[2] as 'down' | 'up', 'peft']],
    [/^(.*)\.processor\.(to_q|to_k|to_v|to_out)_lora\.(down|up)\.weight$/, (m) => [`${m[1]}.${m[2] === 'to_out' ? 'to_out.0' : m[2]}`, m[3] as 'down' | 'up', 'peft']],
  ];
  for (const [re, read] of forms) {
    const m = re.exec(key);
    if (!m) continue;
    const [module, part, format] = read(m);
    for (const [prefix, component] of KOHYA) {
      if (module.startsWith(prefix)) {
        const target = underscored[component].get(module.slice(prefix.length));
        return target ? { component, module: target, part, format: 'kohya' } : undefined;
      }
    }
    for (const [prefix, component] of DOTTED) {
      if (module.startsWith(prefix)) return { component, module: module.slice(prefix.length), part, format };
    }
    return { component: undefined, module, part, format };
  }
  return undefined;
}

type Entry = { down?: WeightRef; up?: WeightRef; alphaKey?: string };

/**
 * Reads a LoRA for an SD/SDXL model. Every tensor must patch a layer of the loaded UNet or text encoders
 * with matching shapes; otherwise nothing is applied and the error names the file and the keys.
 */
export async function loadSdLora(file: string, bases: SdLoraBases): Promise<SdLoraParts> {
  const header = await readSafetensorsHeader(file);
  const baseOf = (c: SdLoraComponent): WeightSet | undefined => (c === 'unet' ? bases.unet : c === 'textEncoder' ? bases.textEncoder : bases.textEncoder2);
  const underscored = {
    unet: underscoredNames(bases.unet, bases.unetConfig),
    textEncoder: underscoredNames(bases.textEncoder),
    textEncoder2: underscoredNames(bases.textEncoder2),
  };
  const parts: Record<SdLoraComponent, Map<string, Entry>> = { unet: new Map(), textEncoder: new Map(), textEncoder2: new Map() };
  const unmatched: string[] = [];
  const formats = new Set<LoraFormat>();
  for (const t of header.tensors.values()) {
    const parsed = parseKey(t.name, underscored);
    const component = parsed?.component ?? (parsed && bases.unet.has(`${parsed.module}.weight`) ? 'unet' : undefined);
    const base = component ? baseOf(component) : undefined;
    if (!parsed || !component || !base?.has(`${parsed.module}.weight`)) {
      unmatched.push(t.name);
      continue;
    }
    formats.add(parsed.format);
    const entry = parts[component].get(parsed.module) ?? {};
    if (parsed.part === 'alpha') entry.alphaKey = t.name;
    else entry[parsed.part] = { name: t.name, file, dtype: t.dtype, shape: t.shape, offset: t.offset, byteLength: t.byteLength };
    parts[component].set(parsed.module, entry);
  }
  if (unmatched.length > 0) {
    throw new StudioError(
      'model-unsupported',
      notice('error.loraDoesNotFit', { file: basename(file), count: unmatched.length, total: header.tensors.size, keys: unmatched.slice(0, 6).join(', ') + (unmatched.length > 6 ? ', …' : '') }),
      unmatched.join('\n'),
    );
  }
  const format = [...formats][0] ?? 'kohya';
  const out: SdLoraParts = {};
  for (const component of ['unet', 'textEncoder', 'textEncoder2'] as const) {
    const base = baseOf(component);
    if (!base || parts[component].size === 0) continue;
    const modules = new Map<string, LoraModule>();
    for (const [target, p] of parts[component]) {
      const shape = base.get(`${target}.weight`).shape;
      const bad = (why: string) =>
        new StudioError('model-unsupported', notice('error.loraShapeMismatch', { file: basename(file), module: target, reason: why }), target);
      if (!p.down || !p.up) throw bad('only one of its two matrices is in the file');
      const rank = p.down.shape[0]!;
      const [outF, inF] = shape as [number, number];
      const fits =
        shape.length === 2
          ? p.down.shape.length === 2 && p.up.shape.length === 2 && p.down.shape[1] === inF && p.up.shape[0] === outF && p.up.shape[1] === rank
          : p.down.shape.length === 4 && p.up.shape.length === 4 && p.down.shape[1] === inF && p.up.shape[0] === outF && p.up.shape[1] === rank && p.up.shape[2] === 1 && p.up.shape[3] === 1;
      if (!fits) throw bad(`its matrices are [${p.down.shape.join(', ')}] and [${p.up.shape.join(', ')}] but the layer is [${shape.join(', ')}]`);
      const alpha = p.alphaKey ? await readAlpha(header, p.alphaKey) : rank;
      modules.set(target, { target, down: p.down, up: p.up, rank, alpha });
    }
    out[component] = { file, format, modules, metadata: header.metadata };
  }
  if (Object.keys(out).length === 0) throw new StudioError('model-unsupported', notice('error.loraEmpty', { file: basename(file) }), file);
  return out;
}
