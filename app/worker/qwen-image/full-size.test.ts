// The graphs at the real Qwen-Image size, built against skeleton checkpoints of the official files:
// every tensor name and shape the graphs ask for exists in the official checkpoint.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWeightSet } from '../safetensors/weight-set.js';
import { writeSkeleton, type Inventory } from '../safetensors/skeleton.js';
import { readConfig } from './components.js';
import { parseTextEncoderConfig } from './text-encoder-config.js';
import { buildTextEncoderGraph } from './text-encoder-graph.js';
import { parseTransformerConfig } from './transformer-config.js';
import { buildModulationGraph, buildTransformerGraph, isModulationModule } from './transformer-graph.js';
import { parseVaeConfig } from './vae-config.js';
import { buildVaeDecoderGraph, buildVaeEncoderGraph } from './vae-graph.js';

const inventories = new URL('../../../test-fixtures/full-size/qwen-image/', import.meta.url).pathname;
const inventory = (name: string) => JSON.parse(readFileSync(join(inventories, `${name}.json`), 'utf8')) as Inventory & { total_file_bytes: number };

/** Counts how many initializers of an encoded graph name each tensor: every checkpoint tensor is used. */
function referencedNames(graph: Uint8Array, names: readonly string[]): string[] {
  const text = Buffer.from(graph).toString('latin1');
  return names.filter((n) => !text.includes(n));
}

describe('Qwen-Image at full size (skeleton checkpoints, no weights read)', () => {
  const root = mkdtempSync(join(tmpdir(), 'qwen-skeleton-'));
  beforeAll(async () => {
    for (const c of ['transformer', 'text_encoder', 'vae']) await writeSkeleton(inventory(c), root);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes sparse shards of the real sizes', () => {
    const inv = inventory('transformer');
    const total = inv.shards.reduce((a, s) => a + statSync(join(root, 'transformer', s.file)).size, 0);
    expect(total).toBe(inv.total_file_bytes);
  });

  it('builds the 60-block transformer from the 9 official shards, using every tensor', async () => {
    const dir = join(root, 'transformer');
    const weights = await openWeightSet(dir, ['diffusion_pytorch_model'], root, 'transformer');
    expect(weights.files).toHaveLength(9);
    const config = parseTransformerConfig(await readConfig(dir), 'config.json');
    expect(config).toMatchObject({ numLayers: 60, numHeads: 24, headDim: 128, jointAttentionDim: 3584 });
    // The blocks' graph and the timestep modulation's graph between them read every tensor, each once.
    const graph = buildTransformerGraph(weights, config);
    const modulation = buildModulationGraph(weights, config, { blocks: [0, 60], withOut: true });
    expect(referencedNames(Buffer.concat([graph, modulation]), weights.names())).toEqual([]);
    const modulationNames = weights.names().filter(isModulationModule);
    expect(referencedNames(graph, modulationNames)).toEqual(modulationNames);
    const modulationBytes = modulationNames.reduce((a, n) => a + weights.get(n).byteLength, 0);
    // A third of the transformer's weights never load with the blocks.
    expect(modulationBytes / weights.totalBytes).toBeCloseTo(0.33, 1);
  });

  it('builds the 28-layer text encoder, using every language-model tensor', async () => {
    const dir = join(root, 'text_encoder');
    const weights = await openWeightSet(dir, ['model'], root, 'text encoder');
    const config = parseTextEncoderConfig(await readConfig(dir), 'config.json');
    expect(config).toMatchObject({ layers: 28, hidden: 3584, heads: 28, kvHeads: 4, headDim: 128, vocabSize: 152064 });
    const graph = buildTextEncoderGraph(weights, config);
    // The vision tower and the LM head are not part of text encoding.
    const used = weights.names().filter((n) => !n.startsWith('visual.') && n !== 'lm_head.weight');
    expect(referencedNames(graph, used)).toEqual([]);
  });

  it('builds the VAE decoder and encoder from the official file', async () => {
    const dir = join(root, 'vae');
    const weights = await openWeightSet(dir, ['diffusion_pytorch_model'], root, 'VAE');
    const config = parseVaeConfig(await readConfig(dir), 'config.json');
    const decoder = buildVaeDecoderGraph(weights, config);
    const encoder = buildVaeEncoderGraph(weights, config);
    const unused = referencedNames(Buffer.concat([decoder, encoder]), weights.names());
    // Only the temporal convolutions of the resamplers go unused for single images.
    expect(unused.every((n) => n.includes('.time_conv.'))).toBe(true);
  });
});
