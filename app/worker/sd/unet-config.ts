// The UNet2DConditionModel config (unet/config.json) of SD 1.x/2.x, SDXL and their distilled variants,
// checked against what the studio's UNet graph builds: anything else is refused naming the field.

import { ConfigFields, configError } from './config-fields.js';

export type DownBlockType = 'DownBlock2D' | 'CrossAttnDownBlock2D';
export type UpBlockType = 'UpBlock2D' | 'CrossAttnUpBlock2D';

export interface UnetBlock {
  readonly cross: boolean;
  readonly out: number;
  readonly heads: number;
  readonly transformerLayers: number;
  /** Resnets in the block (down: layers_per_block; up: layers_per_block + 1). */
  readonly resnets: number;
}

export interface UnetConfig {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly blockOut: readonly number[];
  readonly down: readonly UnetBlock[];
  readonly up: readonly UnetBlock[];
  readonly mid: { readonly heads: number; readonly transformerLayers: number } | undefined;
  readonly groups: number;
  readonly normEps: number;
  readonly crossAttentionDim: number;
  readonly useLinearProjection: boolean;
  readonly flipSinToCos: boolean;
  readonly freqShift: number;
  /** 4 x block_out_channels[0]. */
  readonly timeEmbedDim: number;
  /** SDXL's "text_time" conditioning: pooled text embeddings plus sinusoids of the six size/crop ids. */
  readonly addTime: { readonly timeDim: number; readonly inputDim: number; readonly textEmbedDim: number } | undefined;
  /** LCM-distilled UNets take a guidance-scale embedding of this width. */
  readonly timeCondProjDim: number | undefined;
  readonly convInKernel: number;
  readonly convOutKernel: number;
}

const NULLISH = (v: unknown) => v === undefined || v === null;

export function parseUnetConfig(raw: Record<string, unknown>, file: string): UnetConfig {
  const f = new ConfigFields(raw, file);
  const refuse = (field: string, want: string) => {
    throw configError(file, `${field} ${JSON.stringify(raw[field])} is not supported by the studio's UNet (${want})`);
  };
  const downTypes = f.strings('down_block_types');
  const upTypes = f.strings('up_block_types');
  const n = downTypes.length;
  if (n < 1 || upTypes.length !== n) throw configError(file, `down_block_types and up_block_types must list the same number of blocks`);
  for (const t of downTypes) if (t !== 'DownBlock2D' && t !== 'CrossAttnDownBlock2D') refuse('down_block_types', 'DownBlock2D or CrossAttnDownBlock2D');
  for (const t of upTypes) if (t !== 'UpBlock2D' && t !== 'CrossAttnUpBlock2D') refuse('up_block_types', 'UpBlock2D or CrossAttnUpBlock2D');
  const midType = raw.mid_block_type ?? 'UNetMidBlock2DCrossAttn';
  if (midType !== 'UNetMidBlock2DCrossAttn') refuse('mid_block_type', 'UNetMidBlock2DCrossAttn');
  if ((raw.time_embedding_type ?? 'positional') !== 'positional') refuse('time_embedding_type', 'positional');
  if (!NULLISH(raw.addition_embed_type) && raw.addition_embed_type !== 'text_time') refuse('addition_embed_type', 'none or text_time');
  for (const field of ['class_embed_type', 'encoder_hid_dim_type', 'encoder_hid_dim', 'num_class_embeds', 'time_embedding_act_fn', 'timestep_post_act', 'cross_attention_norm']) {
    if (!NULLISH(raw[field])) refuse(field, 'null');
  }
  for (const field of ['dual_cross_attention', 'center_input_sample', 'resnet_skip_time_act', 'class_embeddings_concat', 'mid_block_only_cross_attention']) {
    if (raw[field] === true) refuse(field, 'false');
  }
  const onlyCross = raw.only_cross_attention;
  if (onlyCross === true || (Array.isArray(onlyCross) && onlyCross.some(Boolean))) refuse('only_cross_attention', 'false');
  if ((raw.resnet_time_scale_shift ?? 'default') !== 'default') refuse('resnet_time_scale_shift', 'default');
  if ((raw.attention_type ?? 'default') !== 'default') refuse('attention_type', 'default');
  if ((raw.act_fn ?? 'silu') !== 'silu') refuse('act_fn', 'silu');
  if ((raw.resnet_out_scale_factor ?? 1) !== 1) refuse('resnet_out_scale_factor', '1');
  if ((raw.mid_block_scale_factor ?? 1) !== 1) refuse('mid_block_scale_factor', '1');
  if ((raw.downsample_padding ?? 1) !== 1) refuse('downsample_padding', '1');
  if (!NULLISH(raw.time_embedding_dim)) refuse('time_embedding_dim', 'null');

  const blockOut = f.positives('block_out_channels', n);
  const layers = f.positives('layers_per_block', n, 2);
  const crossDims = f.positives('cross_attention_dim', n, 1280);
  if (new Set(crossDims).size !== 1) refuse('cross_attention_dim', 'one width for every block');
  // diffusers: num_attention_heads falls back to attention_head_dim, which old configs used for the head count.
  const headsField = NULLISH(raw.num_attention_heads) ? 'attention_head_dim' : 'num_attention_heads';
  const heads = f.positives(headsField, n, 8);
  const tlpbRaw = raw.transformer_layers_per_block ?? 1;
  if (Array.isArray(tlpbRaw) && tlpbRaw.some(Array.isArray)) refuse('transformer_layers_per_block', 'one number per block');
  const tlpb = f.positives('transformer_layers_per_block', n, 1);
  const reverseTlpb = NULLISH(raw.reverse_transformer_layers_per_block) ? [...tlpb].reverse() : undefined;
  if (!reverseTlpb) refuse('reverse_transformer_layers_per_block', 'null');
  const groups = f.positive('norm_num_groups', 32);
  for (const c of blockOut) {
    if (c % groups !== 0) throw configError(file, `block width ${c} is not divisible by norm_num_groups ${groups}`);
  }
  blockOut.forEach((c, i) => {
    if (c % heads[i]! !== 0) throw configError(file, `block width ${c} is not divisible by its ${heads[i]} attention heads`);
  });

  const down: UnetBlock[] = downTypes.map((t, i) => ({ cross: t === 'CrossAttnDownBlock2D', out: blockOut[i]!, heads: heads[i]!, transformerLayers: tlpb[i]!, resnets: layers[i]! }));
  const revOut = [...blockOut].reverse();
  const revHeads = [...heads].reverse();
  const revLayers = [...layers].reverse();
  const up: UnetBlock[] = upTypes.map((t, i) => ({ cross: t === 'CrossAttnUpBlock2D', out: revOut[i]!, heads: revHeads[i]!, transformerLayers: reverseTlpb![i]!, resnets: revLayers[i]! + 1 }));
  const c0 = blockOut[0]!;
  const addTime =
    raw.addition_embed_type === 'text_time'
      ? (() => {
          const timeDim = f.positive('addition_time_embed_dim');
          const inputDim = f.positive('projection_class_embeddings_input_dim');
          const textEmbedDim = inputDim - 6 * timeDim;
          if (textEmbedDim <= 0) throw configError(file, `projection_class_embeddings_input_dim ${inputDim} leaves no room for the pooled text embedding next to 6 x ${timeDim}`);
          return { timeDim, inputDim, textEmbedDim };
        })()
      : undefined;
  const convIn = f.positive('conv_in_kernel', 3);
  const convOut = f.positive('conv_out_kernel', 3);
  if (convIn % 2 === 0 || convOut % 2 === 0) refuse('conv_in_kernel', 'odd kernel sizes');
  return {
    inChannels: f.positive('in_channels', 4),
    outChannels: f.positive('out_channels', 4),
    blockOut,
    down,
    up,
    mid: { heads: heads[n - 1]!, transformerLayers: tlpb[n - 1]! },
    groups,
    normEps: f.number('norm_eps', 1e-5),
    crossAttentionDim: crossDims[0]!,
    useLinearProjection: f.boolean('use_linear_projection', false),
    flipSinToCos: f.boolean('flip_sin_to_cos', true),
    freqShift: f.number('freq_shift', 0),
    timeEmbedDim: c0 * 4,
    addTime,
    timeCondProjDim: f.optionalNumber('time_cond_proj_dim'),
    convInKernel: convIn,
    convOutKernel: convOut,
  };
}
