import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResolvedRequest } from '../../shared/generation.js';
import { RESIDENT } from '../../shared/vram-plan.js';
import { workerFamily } from '../families.js';
import { openModelFolder } from '../model-folder.js';
import { TINY_SD_TURBO, writeRandomSdTurbo } from './random-sd.js';

describe('random SD-Turbo folders (benchmarks, live-mode latency)', () => {
  it('writes a complete official-layout folder of any size that the studio runs', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'random-sd-')), 'sd');
    await writeRandomSdTurbo(dir, TINY_SD_TURBO);
    const folder = await openModelFolder(dir);
    expect(folder.family).toBe('sd-turbo');
    const runner = await workerFamily(folder.family).open(folder, { intraOpThreads: 1 }, RESIDENT, () => undefined);
    try {
      const request: ResolvedRequest = { prompt: 'any text, même accentué', negativePrompt: '', seed: 1, steps: 1, guidance: 1, width: 256, height: 256, modelId: 'x', format: 'png', loras: [] };
      const out = await runner.generate({ request, loras: [] }, () => undefined, new AbortController().signal, () => undefined);
      expect(out.rgb).toHaveLength(256 * 256 * 3);
    } finally {
      await runner.release();
    }
  });
});
