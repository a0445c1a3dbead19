// A newcomer's road from an empty data folder to a real model's image, with nothing but what the screen
// says: the first-run card names this computer and the model to run, downloads it (from a local stand-in
// for Hugging Face and ModelScope), selects it with its speed LoRA, and Generate makes the image.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Recipe } from '../app/shared/generation.js';
import { startFakeHub, type FakeHub } from '../app/main/test-support/fake-hub.js';
import { fixtureModelFolder } from '../app/worker/test-support/fixture-model.js';
import { launchChromium, openStudio, repoRoot, screenshotsDir, startStudio, type RunningStudio } from './support.js';

function filesOf(dir: string): Record<string, Buffer> {
  const walk = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
  return Object.fromEntries(walk(dir).map((f) => [relative(dir, f), readFileSync(f)]));
}

describe('first run to a real picture', () => {
  let hub: FakeHub;
  let studio: RunningStudio;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const model = filesOf(fixtureModelFolder(mkdtempSync(join(tmpdir(), 'hub-2512-'))));
    const turbo = 'Qwen-Image-2512-Turbo-LoRA-4steps-V1.0.safetensors';
    hub = await startFakeHub({
      'Qwen/Qwen-Image-2512': { files: model, lfs: Object.keys(model).filter((p) => p.endsWith('.safetensors')) },
      'Wuli-art/Qwen-Image-2512-Turbo-LoRA': { files: { [turbo]: readFileSync(join(repoRoot, 'test-fixtures', 'qwen-image', 'lora', 'lora_lightx2v_format.safetensors')) }, lfs: [turbo] },
    });
    studio = await startStudio(mkdtempSync(join(tmpdir(), 'studio-newcomer-')), { HF_ENDPOINT: hub.url, MODELSCOPE_ENDPOINT: hub.url, HF_HUB_CACHE: mkdtempSync(join(tmpdir(), 'empty-hf-cache-')) });
    browser = await launchChromium();
    page = await openStudio(browser, studio, { width: 1280, height: 800 });
  });
  afterAll(async () => {
    await browser?.close();
    await studio?.stop();
    await hub?.close();
  });

  it('the first-run card leads from the demo to a downloaded model and an image made with it', async () => {
    const card = page.getByRole('region', { name: 'From the demo to real pictures' });
    await card.getByText(/^This computer: CPU, \d+ threads, \d+ GB memory$/).waitFor();
    const recommendation = await card.locator('.recommendation').innerText();
    expect(recommendation).toMatch(/^Recommended: Qwen-Image-2512 with Qwen-Image-2512 Turbo 4-step\. 58\.6 GB to download; about \d+(\.\d)? (s|min|h) per 1024 × 1024 image here, running as: .+\./);
    await page.screenshot({ path: join(screenshotsDir, 'first-run.png') });
    await card.getByRole('button', { name: 'Download 58.6 GB' }).click();
    await page.getByText('Qwen-Image-2512 is ready. It is selected under Model: press Generate.').waitFor({ timeout: 90_000 });
    await expect.poll(() => page.getByRole('combobox', { name: 'Model', exact: true }).locator('option:checked').innerText()).toBe('Qwen-Image-2512');
    await expect.poll(() => page.getByRole('combobox', { name: 'Speed' }).locator('option:checked').innerText()).toBe('Turbo 4-step');
    // The card has done its work: the model is not the demo any more.
    await card.waitFor({ state: 'detached' });

    await page.getByRole('textbox', { name: 'Prompt', exact: true }).fill('a paper boat on a pond');
    await page.getByRole('combobox', { name: 'Size' }).selectOption('512x512');
    await page.getByRole('button', { name: 'Generate', exact: true }).click();
    await page.getByRole('img', { name: 'Generated image: a paper boat on a pond' }).waitFor({ timeout: 90_000 });
    const db = new Database(join(studio.dataDir, 'studio.db'), { readonly: true });
    const recipe = JSON.parse((db.prepare('SELECT recipe_json FROM generations').pluck().get() as string) ?? '{}') as Recipe;
    db.close();
    expect(recipe.modelName).toBe('Qwen--Qwen-Image-2512');
    expect(recipe.modelId).toBe('local:Qwen--Qwen-Image-2512');
    expect(recipe.loras.map((l) => [l.role, l.strength])).toEqual([['speed', 1]]);
    expect(recipe.steps).toBe(4);
    expect(hub.requests.some((r) => r.path.includes('Qwen-Image-2512-Turbo-LoRA'))).toBe(true);
  });
});
