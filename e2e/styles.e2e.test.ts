// Styles as a user meets them: drop LoRA files on the window, see them as cards (or why one was refused),
// pick a speed preset and a style, generate, and find both in the recipe.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSafetensors, readSafetensorsHeader, readTensorBytes } from '../app/worker/safetensors/safetensors.js';
import { launchChromium, repoRoot, screenshotsDir, startStudio, type RunningStudio } from './support.js';

const fixtureLora = join(repoRoot, 'test-fixtures', 'qwen-image', 'lora', 'lora_lightx2v_format.safetensors');

/** The fixture LoRA re-written with other metadata: same weights, another file (another hash). */
async function variant(note: string): Promise<Uint8Array> {
  const h = await readSafetensorsHeader(fixtureLora);
  const tensors = await Promise.all([...h.tensors.values()].map(async (t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: await readTensorBytes(h, t.name) })));
  return encodeSafetensors(tensors, { note });
}

async function drop(page: Page, files: { name: string; bytes: Uint8Array }[]): Promise<void> {
  const dataTransfer = await page.evaluateHandle((list) => {
    const dt = new DataTransfer();
    for (const f of list) dt.items.add(new File([new Uint8Array(f.bytes)], f.name));
    return dt;
  }, files.map((f) => ({ name: f.name, bytes: [...f.bytes] })));
  await page.dispatchEvent('.app', 'drop', { dataTransfer });
}

describe('styles in Chromium', () => {
  let studio: RunningStudio;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    studio = await startStudio();
    browser = await launchChromium();
    page = await (await browser.newContext({ locale: 'en-US', viewport: { width: 1400, height: 1000 } })).newPage();
    await page.goto(studio.launchUrl);
    await page.getByRole('heading', { name: 'Styles' }).waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await studio?.stop();
  });

  it('imports dropped LoRA files as cards, and explains a refused pickle', async () => {
    await page.getByText('No LoRAs yet.').waitFor();
    await drop(page, [
      { name: 'anime-style.safetensors', bytes: new Uint8Array(readFileSync(fixtureLora)) },
      { name: 'Qwen-Image-Lightning-4steps-V1.0.safetensors', bytes: await variant('speed') },
      { name: 'pytorch_lora_weights.bin', bytes: Uint8Array.from([0x80, 0x04, 0x95, 0, 0, 0, 0, 0]) },
    ]);
    await page.getByRole('listitem', { name: 'anime-style' }).waitFor();
    await page.getByRole('listitem', { name: 'Qwen-Image-Lightning-4steps-V1.0' }).getByText('Lightning 4-step').waitFor();
    await page.getByText('Added anime-style.safetensors.').waitFor();
    await page.getByRole('alert').filter({ hasText: 'pytorch_lora_weights.bin was not added' }).filter({ hasText: 'never opens one' }).waitFor();
    await page.screenshot({ path: join(screenshotsDir, 'styles.png'), fullPage: true });

    // The same file again is recognised, not copied twice.
    await drop(page, [{ name: 'anime-copy.safetensors', bytes: new Uint8Array(readFileSync(fixtureLora)) }]);
    await page.getByText('anime-copy.safetensors is already in the library.').waitFor();
    expect(await page.locator('.cards > li').count()).toBe(2);
  });

  it('generates with a speed preset and a style, both recorded in the recipe', async () => {
    await page.getByRole('textbox', { name: 'Prompt' }).fill('a lighthouse at dusk');
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('2');
    await page.getByRole('combobox', { name: 'Speed' }).selectOption({ label: 'Lightning 4-step' });
    expect(await page.getByRole('spinbutton', { name: 'Steps' }).inputValue()).toBe('4');
    await page.getByRole('combobox', { name: 'Style', exact: true }).selectOption({ label: 'anime-style' });
    await page.getByRole('slider', { name: 'Style strength' }).fill('0.75');
    await page.getByRole('combobox', { name: 'Size' }).selectOption('512x512');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByRole('img', { name: 'Generated image: a lighthouse at dusk' }).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Open image: a lighthouse at dusk' }).click();
    const recipe = await page.getByRole('dialog', { name: 'Recipe' }).innerText();
    expect(recipe).toContain('Qwen-Image-Lightning-4steps-V1.0 (speed, 1)');
    expect(recipe).toContain('anime-style (style, 0.75)');
    expect(recipe).toMatch(/Steps\s+4/);
    await page.getByRole('button', { name: 'Close' }).click();
  });

  it('filters the gallery by style', async () => {
    await page.getByRole('textbox', { name: 'Prompt' }).fill('no style at all');
    await page.getByRole('combobox', { name: 'Style', exact: true }).selectOption({ label: 'None' });
    await page.getByRole('combobox', { name: 'Speed' }).selectOption({ label: 'None (model default)' });
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByRole('img', { name: 'Generated image: no style at all' }).waitFor({ timeout: 60_000 });
    const tiles = page.getByRole('list', { name: 'Gallery' }).getByRole('button');
    await expect.poll(() => tiles.count()).toBe(2);
    await page.getByRole('combobox', { name: 'Filter by style' }).selectOption({ label: 'anime-style' });
    await expect.poll(() => tiles.count()).toBe(1);
    expect(await tiles.first().getAttribute('aria-label')).toBe('Open image: a lighthouse at dusk');
  });
});
