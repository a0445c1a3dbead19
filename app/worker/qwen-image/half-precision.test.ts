// Half precision that does not overflow. Qwen-Image's attention output projections and MLP down-projections
// produce values beyond float16's 65504 in its later blocks; the fixture transformer with those four linears
// scaled up reproduces that at fixture size. A plain float16 graph (everything in float16) turns it into
// Inf/NaN; the studio's (float32 residual streams, scaled inputs of those linears) stays within the float16
// tolerance of float32. And when half precision does give invalid values, the job runs the component again
// in a safer precision and says so, instead of saving a black image.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedRequest } from '../../shared/generation.js';
import { NOTICES, type Notice } from '../../shared/notices.js';
import { parsePlan } from '../../shared/vram-plan.js';
import { FixtureCases } from '../fixtures/fixture-folder.js';
import { HALF_TOLERANCE } from '../fixtures/fixture-check.js';
import { compare } from '../fixtures/fixture-folder.js';
import { openModelFolder } from '../model-folder.js';
import { countNonFinite } from '../pixels.js';
import { encodeSafetensors, readSafetensorsHeader, readTensorBytes } from '../safetensors/safetensors.js';
import { fixtureModelFolder } from '../test-support/fixture-model.js';
import { openTransformer, type SessionOptions } from './components.js';
import { QwenImageRunner } from './qwen-image-runner.js';
import type { TransformerInput } from './transformer-model.js';

const fixtures = new URL('../../../test-fixtures/qwen-image/', import.meta.url).pathname;
/** The linears that overflow in the real model, scaled by 2^16: their outputs reach ~1e5..1e6 here (weights stay below 65504). */
const OVERFLOWING = /\.(attn\.to_out\.0|attn\.to_add_out|img_mlp\.net\.2|txt_mlp\.net\.2)\.weight$/;
const GAIN = 2 ** 16;

async function writeOverflowingTransformer(dir: string): Promise<void> {
  const file = join(dir, 'diffusion_pytorch_model.safetensors');
  const header = await readSafetensorsHeader(file);
  const tensors = [];
  for (const t of header.tensors.values()) {
    const data = new Float32Array(Uint8Array.from(await readTensorBytes(header, t.name)).buffer);
    if (OVERFLOWING.test(t.name)) for (let i = 0; i < data.length; i++) data[i]! *= GAIN;
    tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: new Uint8Array(data.buffer) });
  }
  writeFileSync(file, encodeSafetensors(tensors));
}

describe('float16 on a transformer whose activations overflow float16', () => {
  let dir: string;
  let input: TransformerInput;
  const run = async (session: SessionOptions) => {
    const model = await openTransformer(join(dir, 'transformer'), dir, session);
    try {
      return await model.run(input);
    } finally {
      await model.release();
    }
  };

  beforeAll(async () => {
    dir = fixtureModelFolder(mkdtempSync(join(tmpdir(), 'qwen-overflow-')));
    await writeOverflowingTransformer(join(dir, 'transformer'));
    const cases = await FixtureCases.open(join(fixtures, 'transformer', 'cases.safetensors'));
    const manifest = JSON.parse(readFileSync(join(fixtures, 'transformer', 'manifest.json'), 'utf8')) as { cases: { name: string; img_shapes: number[][][] }[] };
    const [, gridH, gridW] = manifest.cases.find((c) => c.name === 'sq64')!.img_shapes[0]![0]! as [number, number, number];
    const encoder = await cases.floats('sq64.encoder_hidden_states');
    const textTokens = encoder.length / 64;
    input = { hidden: await cases.floats('sq64.hidden_states'), batch: 1, gridH, gridW, encoder, textTokens, textLengths: [textTokens], timesteps: await cases.floats('sq64.timestep') };
  });

  it('a plain float16 graph gives Inf/NaN; the studio float16 graph stays within the float16 tolerance of float32', async () => {
    const reference = await run({ intraOpThreads: 1 });
    expect(countNonFinite(reference)).toBe(0);
    const plain = await run({ intraOpThreads: 1, precision: 'fp16', halfCare: 'none' });
    const studio = await run({ intraOpThreads: 1, precision: 'fp16' });
    console.log(`overflow model: plain fp16 ${countNonFinite(plain)} of ${plain.length} outputs not finite; studio fp16 max abs error ${compare(studio, reference, 0, 0).maxAbs.toExponential(2)}`);
    expect(countNonFinite(plain)).toBeGreaterThan(plain.length / 2);
    const c = compare(studio, reference, HALF_TOLERANCE.atol, HALF_TOLERANCE.rtol);
    expect(c.failures).toBe(0);
    expect(countNonFinite(studio)).toBe(0);
  });

  it('when float16 does give invalid values, the transformer runs again in float32, the job says so, and the image is the float32 one', async () => {
    const request: ResolvedRequest = { prompt: 'a red fox', negativePrompt: '', seed: 5, steps: 2, guidance: 1, width: 128, height: 128, modelId: 'x', format: 'png', loras: [] };
    const make = async (session: SessionOptions) => {
      const runner = await QwenImageRunner.open(await openModelFolder(dir), session, parsePlan('resident'));
      const notes: Notice[] = [];
      try {
        const image = await runner.generate(request, () => undefined, new AbortController().signal, [], runner.sampler, (n) => notes.push(n));
        return { rgb: image.rgb, notes, precision: runner.precision, device: runner.device };
      } finally {
        await runner.release();
      }
    };
    const f32 = await make({ intraOpThreads: 1 });
    // Half precision without care stands in for a float16 overflow the care did not foresee.
    const guarded = await make({ intraOpThreads: 1, precision: 'fp16', halfCare: 'none' });
    expect(guarded.notes.map((n) => n.key)).toEqual(['note.transformerRerun']);
    expect(guarded.notes[0]!.params).toMatchObject({ from: 'fp16', to: 'f32' });
    expect(NOTICES['note.transformerRerun']).toContain('{to}');
    expect(guarded.precision).toBe('f32');
    expect(guarded.device).toMatch(/^cpu f32 \(text encoder fp16, VAE fp16\)/);
    // The transformer re-ran in float32; the text encoder and VAE stayed in float16 (no invalid values).
    let max = 0;
    for (let i = 0; i < f32.rgb.length; i++) max = Math.max(max, Math.abs(f32.rgb[i]! - guarded.rgb[i]!));
    expect(max).toBeLessThanOrEqual(3);
  });
});
