import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPngText } from '../images/png-text.js';
import { appRoot } from '../paths.js';
import { embeddedRecipe } from '../store/repair.js';
import { countGenerations } from '../store/generations.js';
import { testStudio } from '../test-support/test-studio.js';
import { fixtureModelFolder } from '../../worker/test-support/fixture-model.js';

describe('saving a finished image, when something fails', () => {
  const studio = testStudio();
  afterAll(() => studio.close());

  it('a LoRA file deleted while its image was made: the failure names that file, not studio.db', async () => {
    const model = fixtureModelFolder(mkdtempSync(join(tmpdir(), 'save-model-')));
    await studio.models.registerFolder('fixture', model, 'fixture');
    const lora = join(mkdtempSync(join(tmpdir(), 'save-lora-')), 'style.safetensors');
    copyFileSync(join(appRoot(), 'test-fixtures', 'qwen-image', 'lora', 'lora_lightx2v_format.safetensors'), lora);
    studio.loras.registerFile('style', lora);
    const job = studio.submit({ prompt: 'a fox', seed: 3, steps: 3, width: 256, height: 256, modelId: 'fixture', loras: [{ id: 'style', strength: 0.5 }] });
    // Gone once the worker has read it, before main hashes it for the recipe.
    const off = studio.jobs.onEvent((e) => {
      if (e.jobId === job.jobId && e.type === 'progress' && e.progress.phase === 'denoising') rmSync(lora, { force: true });
    });
    await expect(job.completion).rejects.toMatchObject({
      code: 'storage-failed',
      message: expect.stringMatching(new RegExp(`^The image was not saved: ${lora.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} could not be read to record its hash \\(ENOENT`)),
    });
    off();
    expect(await job.completion.then(() => '', (e: Error) => e.message)).not.toContain('studio.db');
  });

  it('a database that refuses the row: the image is kept, with its recipe inside, and the message says where', async () => {
    const before = countGenerations(studio.db);
    studio.db.exec("CREATE TRIGGER refuse BEFORE INSERT ON generations BEGIN SELECT RAISE(ABORT, 'disk I/O error while writing'); END");
    try {
      const job = studio.submit({ prompt: 'kept anyway', seed: 5, steps: 1, width: 256, height: 256, format: 'png' });
      const error = (await job.completion.catch((e: Error) => e)) as Error & { code: string };
      const m = /^The image was saved as (.+\.png), with its recipe inside, but could not be added to the history: Could not write .*studio\.db: disk I\/O error while writing/.exec(error.message);
      expect(m, error.message).not.toBeNull();
      expect(existsSync(m![1]!)).toBe(true);
      expect(readPngText(readFileSync(m![1]!)).parameters).toContain('kept anyway');
      expect((await embeddedRecipe(m![1]!))?.seed).toBe(5);
      expect(countGenerations(studio.db)).toBe(before);
    } finally {
      studio.db.exec('DROP TRIGGER refuse');
    }
  });
});
