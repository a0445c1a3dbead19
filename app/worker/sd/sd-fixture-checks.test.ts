import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFixtureFolder, type CaseResult } from '../fixtures/fixture-check.js';

const root = new URL('../../../test-fixtures/', import.meta.url).pathname;

async function all(dir: string): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  for await (const r of checkFixtureFolder(dir)) out.push(r);
  return out;
}

describe('every SDXL-Turbo / SD-Turbo / LCM and CLIP tokenizer fixture passes at its tolerance (CPU provider)', () => {
  it.each([
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
  ])('%s', async (folder, family, component, count) => {
    const results = await all(join(root, folder));
    expect(results.filter((r) => !r.pass)).toEqual([]);
    expect(results).toHaveLength(count);
    expect(results.every((r) => r.component === component && r.family === family)).toBe(true);
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
