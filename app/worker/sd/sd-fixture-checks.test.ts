import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFixtureFolder, HALF_TOLERANCE, type CaseResult, type FixtureOptions } from '../fixtures/fixture-check.js';
import { HALF_SD_PIPELINE_TOLERANCE } from '../fixtures/fixture-folder.js';

const root = new URL('../../../test-fixtures/', import.meta.url).pathname;

async function all(dir: string, options: FixtureOptions = {}): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  for await (const r of checkFixtureFolder(dir, options)) out.push(r);
  return out;
}

const FOLDERS = [
    ['clip_tokenizer', 'clip', 'clip_tokenizer', 111],
    ['sdxl/text_encoder', 'sdxl-turbo', 'text_encoders', 27],
    ['sdxl/text_encoder_2', 'sdxl-turbo', 'text_encoder_2', 15],
    ['sdxl/unet', 'sdxl-turbo', 'unet', 3],
    ['sdxl/vae', 'sdxl-turbo', 'vae', 6],
    ['sdxl/scheduler', 'sdxl-turbo', 'scheduler', 104],
    ['sdxl/lora', 'sdxl-turbo', 'lora', 10],
    ['sdxl/pipeline', 'sdxl-turbo', 'pipeline', 80],
    ['sdxl/sd_turbo/text_encoder', 'sd-turbo', 'sd_turbo/text_encoder', 6],
    ['sdxl/sd_turbo/unet', 'sd-turbo', 'unet', 1],
    ['sdxl/sd_turbo/vae', 'sd-turbo', 'vae', 5],
    ['sdxl/sd_turbo/pipeline', 'sd-turbo', 'sd_turbo/pipeline', 18],
] as const;

describe('every SDXL-Turbo / SD-Turbo / LCM and CLIP tokenizer fixture passes at its tolerance (CPU provider)', () => {
  it.each(FOLDERS)('%s', async (folder, family, component, count) => {
    const results = await all(join(root, folder));
    expect(results.filter((r) => !r.pass)).toEqual([]);
    expect(results).toHaveLength(count);
    expect(results.every((r) => r.component === component && r.family === family)).toBe(true);
  });
});

describe('every SD fixture passes in float16 (the graphs DirectML and older CUDA cards run), on the CPU provider', () => {
  // The scheduler and tokenizer do no float16 arithmetic: the float32 run above covers them.
  it.each(FOLDERS.filter(([folder]) => !/scheduler|tokenizer/.test(folder)))('%s', async (folder, family, component, count) => {
    const results = await all(join(root, folder), { precision: 'fp16' });
    expect(results.filter((r) => !r.pass)).toEqual([]);
    expect(results).toHaveLength(count);
    expect(results.every((r) => r.component === component && r.family === family)).toBe(true);
    if (!folder.endsWith('pipeline')) {
      for (const r of results.filter((x) => x.output !== 'modules')) expect([r.atol, r.rtol]).toEqual([Math.max(HALF_TOLERANCE.atol, r.atol), Math.max(HALF_TOLERANCE.rtol, r.rtol)]);
    } else {
      expect(results.find((r) => r.output === 'latents_after_each_step')).toMatchObject({ atol: HALF_SD_PIPELINE_TOLERANCE.latents.atol });
      expect(results.find((r) => r.output === 'image_uint8')).toMatchObject({ atol: HALF_SD_PIPELINE_TOLERANCE.imageLevels });
    }
  });

  it('really computes in float16: the UNet differs from float32 by float16 rounding, not by nothing', async () => {
    const [f32] = await all(join(root, 'sdxl/unet'));
    const [fp16] = await all(join(root, 'sdxl/unet'), { precision: 'fp16' });
    expect(f32!.maxAbs).toBeLessThan(1e-4);
    expect(fp16!.maxAbs).toBeGreaterThan(5e-4);
    expect(fp16!.maxAbs).toBeLessThan(HALF_TOLERANCE.atol);
  });
});

describe('SD fixture folders the engine does not support', () => {
  function folder(manifest: object): string {
    const dir = mkdtempSync(join(tmpdir(), 'fixture-'));
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    return dir;
  }

  it('refuses an unknown component of a supported family, listing the ones it knows', async () => {
    await expect(all(folder({ family: 'sdxl-turbo', component: 'controlnet' }))).rejects.toThrow(/the sdxl-turbo component "controlnet" is not supported yet \(supported: .*unet.*\)/);
  });
});
