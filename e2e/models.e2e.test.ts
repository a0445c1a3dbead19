// Models and downloads as a user meets them, against a local stand-in for Hugging Face: download a speed
// LoRA and see it in Styles; download a base model, pause and resume it, then generate with it; a download
// that cannot be listed says so in plain words.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from '../app/main/test-support/fake-hub.js';
import { fixtureModelFolder } from '../app/worker/test-support/fixture-model.js';
import { launchChromium, openStudio, repoRoot, screenshotsDir, startStudio, type RunningStudio } from './support.js';

function filesOf(dir: string): Record<string, Buffer> {
  const walk = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
  return Object.fromEntries(walk(dir).map((f) => [relative(dir, f), readFileSync(f)]));
}

describe('models and downloads in Chromium', () => {
  let hub: FakeHub;
  let studio: RunningStudio;
  let browser: Browser;
  let page: Page;
  const entry = (title: string) => page.getByRole('listitem', { name: title, exact: true });

  beforeAll(async () => {
    const model = filesOf(fixtureModelFolder(mkdtempSync(join(tmpdir(), 'hub-model-'))));
    const weights = Object.keys(model).filter((p) => p.endsWith('.safetensors'));
    hub = await startFakeHub({
      'Qwen/Qwen-Image': { files: model, lfs: weights },
      'lightx2v/Qwen-Image-Lightning': {
        files: { 'Qwen-Image-Lightning-4steps-V1.0.safetensors': readFileSync(join(repoRoot, 'test-fixtures', 'qwen-image', 'lora', 'lora_lightx2v_format.safetensors')) },
        lfs: ['Qwen-Image-Lightning-4steps-V1.0.safetensors'],
      },
    });
    studio = await startStudio(undefined, { HF_ENDPOINT: hub.url, MODELSCOPE_ENDPOINT: hub.url, HF_HUB_CACHE: mkdtempSync(join(tmpdir(), 'empty-hf-cache-')) });
    browser = await launchChromium();
    page = await openStudio(browser, studio, { width: 1400, height: 1200 });
    await page.keyboard.press('Control+4');
    await page.getByRole('heading', { name: 'Models and downloads' }).waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await studio?.stop();
    await hub?.close();
  });

  it('shows what is installed, the catalog with sizes and free space, every family runnable', async () => {
    await page.getByRole('region', { name: 'Installed models' }).getByText('built in').waitFor();
    await entry('Qwen-Image').getByText('base model · about 57.7 GB').waitFor();
    await entry('SDXL-Turbo').getByRole('button', { name: 'Download SDXL-Turbo' }).waitFor();
    await entry('SD-Turbo').getByRole('button', { name: 'Download SD-Turbo' }).waitFor();
    await page.getByText(/GB free for models in /).waitFor();
    // The English default source is Hugging Face.
    expect(await page.getByRole('combobox', { name: 'Download from' }).inputValue()).toBe('huggingface');
  });

  it('downloads a speed LoRA into the library, where it appears with its preset', async () => {
    await entry('Qwen-Image-Lightning 4-step V1.0').getByRole('button', { name: 'Download Qwen-Image-Lightning 4-step V1.0' }).click();
    await entry('Qwen-Image-Lightning 4-step V1.0').getByText('installed').waitFor({ timeout: 30_000 });
    // The other files of the same repository are not installed by it.
    await entry('Qwen-Image-Lightning 8-step V1.0').getByRole('button', { name: 'Download Qwen-Image-Lightning 8-step V1.0' }).waitFor();
    await page.keyboard.press('Control+3');
    await page.getByRole('listitem', { name: 'Qwen-Image-Lightning-4steps-V1.0' }).getByText('Lightning 4-step').waitFor();
    await page.keyboard.press('Control+4');
  });

  it('says in plain words why a download fails, and what to try', async () => {
    await entry('Qwen-Image-2512').getByRole('button', { name: 'Download Qwen-Image-2512' }).click();
    const alert = entry('Qwen-Image-2512').getByRole('alert');
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.innerText()).toMatch(/^The download of Qwen-Image-2512 failed: Could not list Qwen\/Qwen-Image-2512: Hugging Face has no such repository or revision \(HTTP 404\)\.$/);
    await entry('Qwen-Image-2512').getByRole('button', { name: 'Resume Qwen-Image-2512' }).waitFor();
  });

  it('downloads a base model with pause and resume, then generates with it', async () => {
    hub.faults.set('transformer/diffusion_pytorch_model.safetensors', { bytesPerSecond: 400_000 });
    await entry('Qwen-Image').getByRole('button', { name: 'Download Qwen-Image' }).click();
    await entry('Qwen-Image').getByRole('button', { name: 'Pause Qwen-Image' }).click();
    await entry('Qwen-Image').getByText('Paused; resumes where it stopped.').waitFor();
    await page.screenshot({ path: join(screenshotsDir, 'models-paused.png'), fullPage: true });
    hub.faults.delete('transformer/diffusion_pytorch_model.safetensors');
    await entry('Qwen-Image').getByRole('button', { name: 'Resume Qwen-Image' }).click();
    await entry('Qwen-Image').getByText('installed').waitFor({ timeout: 60_000 });
    await page.getByRole('region', { name: 'Installed models' }).getByText('downloaded').waitFor();

    await page.keyboard.press('Control+1');
    await page.getByRole('combobox', { name: 'Model', exact: true }).selectOption({ label: 'Qwen-Image' });
    await page.getByRole('textbox', { name: 'Prompt', exact: true }).fill('a downloaded model');
    await page.getByRole('combobox', { name: 'Size' }).selectOption('512x512');
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('2');
    await page.getByRole('button', { name: 'Generate', exact: true }).click();
    await page.getByRole('img', { name: 'Generated image: a downloaded model' }).waitFor({ timeout: 60_000 });
    expect(await page.evaluate(() => localStorage.getItem('studio.downloadSource'))).toBe(null);
  });
});
