import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExportState } from '../../shared/contract.js';
import { testStudio } from '../test-support/test-studio.js';

function finished(studio: ReturnType<typeof testStudio>, id: string): Promise<ExportState> {
  return new Promise((resolve) => studio.exports.onChange((e) => e.id === id && e.status !== 'running' && resolve(e)));
}

describe('export', () => {
  it('writes images, JSON sidecars and a CSV of recipes to a folder and to a ZIP, for a filtered view', async () => {
    const studio = testStudio();
    try {
      await studio.submit({ prompt: '一只狐狸, "quoted", with comma', steps: 1, width: 256, height: 256, seed: 5, format: 'png' }).completion;
      await studio.submit({ prompt: 'a whale', steps: 1, width: 256, height: 256, seed: 6 }).completion;
      const folder = studio.exports.start({ filters: { search: '狐狸' } }, 'folder');
      const doneFolder = await finished(studio, folder.id);
      expect(doneFolder).toMatchObject({ status: 'done', done: 1, total: 1 });
      const files = readdirSync(doneFolder.target).sort();
      expect(files).toHaveLength(3);
      expect(files.find((f) => f.endsWith('.png'))).toMatch(/_seed5_/);
      const sidecar = JSON.parse(readFileSync(join(doneFolder.target, files.find((f) => f.endsWith('.json'))!), 'utf8')) as { recipe: { prompt: string; seed: number } };
      expect(sidecar.recipe).toMatchObject({ prompt: '一只狐狸, "quoted", with comma', seed: 5 });
      const csv = readFileSync(join(doneFolder.target, 'recipes.csv'), 'utf8');
      expect(csv.split('\r\n')[0]).toBe('\ufefffile,created,prompt,negative_prompt,seed,steps,guidance,width,height,model,model_hash,loras,sampler,device');
      expect(csv).toContain('"一只狐狸, ""quoted"", with comma"');

      const zip = studio.exports.start({}, 'zip');
      const doneZip = await finished(studio, zip.id);
      expect(doneZip).toMatchObject({ status: 'done', done: 2, total: 2 });
      // Python's zipfile reads the archive: the format is right, the CRCs check.
      const listing = execFileSync('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print("\\n".join(sorted(z.namelist())))', doneZip.target], { encoding: 'utf8' });
      const names = listing.trim().split('\n');
      expect(names).toHaveLength(5);
      expect(names.filter((n) => n.endsWith('.json'))).toHaveLength(2);
      expect(names).toContain('recipes.csv');
    } finally {
      await studio.close();
    }
  });
});
