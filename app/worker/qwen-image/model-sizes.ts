// The sizes a plan needs, read from a model folder's safetensors headers (no weight is read).

import type { ComponentSizes } from '../../shared/vram-plan.js';
import type { QwenFolder } from './qwen-folder.js';
import { openWeightSet, type WeightSet } from '../safetensors/weight-set.js';
import { readConfig } from './components.js';
import { parseTextEncoderConfig } from './text-encoder-config.js';
import { parseTransformerConfig } from './transformer-config.js';

function bytesOf(w: WeightSet, filter: (name: string) => boolean): number {
  let n = 0;
  for (const name of w.names()) if (filter(name)) n += w.get(name).byteLength;
  return n;
}

export async function modelSizes(folder: QwenFolder): Promise<ComponentSizes> {
  const { components: c, root } = folder;
  const [transformer, textEncoder, vae] = await Promise.all([
    openWeightSet(c.transformer, ['diffusion_pytorch_model'], root, 'transformer'),
    openWeightSet(c.textEncoder, ['model'], root, 'text encoder'),
    openWeightSet(c.vae, ['diffusion_pytorch_model'], root, 'VAE'),
  ]);
  const tCfg = parseTransformerConfig(await readConfig(c.transformer), 'transformer/config.json');
  const eCfg = parseTextEncoderConfig(await readConfig(c.textEncoder), 'text_encoder/config.json');
  const blockBytes = Array.from({ length: tCfg.numLayers }, (_, i) => bytesOf(transformer, (n) => n.startsWith(`transformer_blocks.${i}.`)));
  const sample = transformer.get('img_in.weight');
  return {
    denoiser: { label: 'transformer' },
    // The vision tower and LM head are not used for text encoding.
    textEncoderBytes: bytesOf(textEncoder, (n) => !n.startsWith('visual.') && n !== 'lm_head.weight'),
    blockBytes,
    transformerOtherBytes: bytesOf(transformer, (n) => !n.startsWith('transformer_blocks.')),
    vaeBytes: bytesOf(vae, (n) => !n.startsWith('encoder.') && n !== 'quant_conv.weight' && n !== 'quant_conv.bias'),
    bytesPerWeight: sample.byteLength / sample.shape.reduce((a, b) => a * b, 1),
    width: tCfg.numHeads * tCfg.headDim,
    heads: tCfg.numHeads,
    headDim: tCfg.headDim,
    textLayers: eCfg.layers,
    textWidth: eCfg.hidden,
  };
}
