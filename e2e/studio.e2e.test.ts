// The whole studio as a user meets it: type a prompt, watch it form step by step, find it in the gallery,
// read its recipe, reload; fields that say what is wrong before Generate; the queue; live mode.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openStudio, screenshotsDir, startStudio, type RunningStudio } from './support.js';

describe('studio in Chromium', () => {
  let studio: RunningStudio;
  let browser: Browser;
  let page: Page;
  const prompt = () => page.getByRole('textbox', { name: 'Prompt', exact: true });
  const fieldError = (text: string) => page.locator('.field-error', { hasText: text });
  const generate = () => page.getByRole('button', { name: 'Generate', exact: true });
  const history = () => {
    const db = new Database(join(studio.dataDir, 'studio.db'), { readonly: true });
    try {
      return db.prepare('SELECT prompt, seed FROM generations ORDER BY created_at').all() as { prompt: string; seed: number }[];
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    studio = await startStudio();
    browser = await launchChromium();
    page = await openStudio(browser, studio, { width: 1400, height: 900 });
  });
  afterAll(async () => {
    await browser?.close();
    await studio?.stop();
  });

  it('opens on Create, says what this computer is and honestly that the demo model paints abstract images', async () => {
    await expect.poll(() => page.url()).toBe(`${studio.url}/`);
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Create' }).waitFor();
    await page.getByText(/^This computer: CPU, \d+ threads, \d+ GB memory$/).waitFor();
    await page.getByText('Until then the demo model runs: a tiny untrained model that paints abstract colour noise').waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    // Nothing typed yet: Generate says why it waits.
    expect(await generate().isDisabled()).toBe(true);
    await page.locator('.generate-bar').getByText('The prompt is empty: describe the image you want').waitFor();
  });

  it('says before generating how the model will run at the chosen size on this machine', async () => {
    const summary = page.locator('.plan-summary summary');
    await summary.getByText(/^Runs as: everything loaded at once, f32 · peak \d+\.\d GB · about \d+\.\d\d s per step · CPU, \d+ threads, \d+ GB memory$/).waitFor();
    await page.getByRole('combobox', { name: 'Size' }).selectOption('512x512');
    await summary.click();
    const table = page.locator('.plan-summary table');
    await table.waitFor();
    expect(await table.locator('tr.chosen td').first().innerText()).toBe('everything loaded at once, f32');
    expect(await table.locator('tbody tr').count()).toBeGreaterThanOrEqual(4);
    await summary.click();
  });

  it('shows the image forming at every step before the final image, then the result and the recent strip', async () => {
    await prompt().fill('a red fox in the snow');
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('6');
    await page.getByRole('textbox', { name: 'Seed' }).fill('7');
    // Everything that appears in the result area, in order, as the page sees it.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      new MutationObserver(() => {
        for (const img of Array.from(document.querySelectorAll<HTMLImageElement>('.result-area img'))) {
          const key = img.classList.contains('step-preview') ? `preview:${img.dataset.step}:${img.src.startsWith('data:image/jpeg;base64,') ? 'jpeg' : img.src.slice(0, 30)}` : `final:${img.alt}`;
          if (seen.at(-1) !== key) seen.push(key);
        }
      }).observe(document.querySelector('.result-area')!, { subtree: true, childList: true, attributes: true });
    });
    await generate().click();
    const result = page.getByRole('img', { name: 'Generated image: a red fox in the snow' });
    await result.waitFor({ timeout: 60_000 });
    await expect.poll(() => result.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(512);
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    const previews = seen.filter((s) => s.startsWith('preview:'));
    expect(previews.length).toBeGreaterThanOrEqual(2);
    expect(previews.every((p) => p.endsWith(':jpeg'))).toBe(true);
    expect(seen.indexOf(previews[0]!)).toBeLessThan(seen.indexOf('final:Generated image: a red fox in the snow'));
    await page.getByRole('list', { name: 'Recent' }).getByRole('button', { name: 'Open image: a red fox in the snow' }).waitFor();
    await page.screenshot({ path: join(screenshotsDir, 'create-result.png') });
  });

  it('shows the recipe of an image, with the hashes folded under technical details', async () => {
    await page.getByRole('list', { name: 'Recent' }).getByRole('button', { name: 'Open image: a red fox in the snow' }).click();
    const dialog = page.getByRole('dialog', { name: 'Recipe' });
    await dialog.waitFor();
    const text = await dialog.innerText();
    expect(text).toContain('a red fox in the snow');
    expect(text).toMatch(/Seed\s+7/);
    expect(text).toMatch(/Size\s+512 × 512/);
    expect(text).toMatch(/Steps\s+6/);
    const hashes = dialog.locator('dd.technical').getByText(/transformer\/diffusion_pytorch_model\.safetensors/);
    expect(await hashes.isVisible()).toBe(false);
    await dialog.getByText('Technical details').click();
    await hashes.waitFor();
    await dialog.getByRole('button', { name: 'Show file' }).click();
    await dialog.getByText(new RegExp(`The file is at ${studio.dataDir}/images/.*\\.jpg`)).waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'hidden' });
  });

  it('tells what is wrong next to the field before Generate, and refuses a seed above 2^32-1', async () => {
    await page.getByRole('combobox', { name: 'Size' }).selectOption('custom');
    await page.getByRole('spinbutton', { name: 'Width' }).fill('1000');
    await fieldError('Width must be a multiple of 16 pixels').waitFor();
    expect(await generate().isDisabled()).toBe(true);
    await page.getByRole('spinbutton', { name: 'Width' }).fill('512');
    await page.getByRole('spinbutton', { name: 'Height' }).fill('512');
    await page.getByRole('textbox', { name: 'Seed' }).fill('4294967296');
    await fieldError('The seed must be at most 4294967295').waitFor();
    expect(await generate().isDisabled()).toBe(true);
    // Ctrl+Enter follows the same rule: nothing is queued.
    const before = history().length;
    await prompt().press('Control+Enter');
    await page.waitForTimeout(300);
    expect(await page.getByRole('list', { name: 'Queue' }).count()).toBe(0);
    await page.getByRole('textbox', { name: 'Seed' }).fill('');
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('0');
    await fieldError('Steps must be between 1 and 50').waitFor();
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('4');
    expect(await generate().isEnabled()).toBe(true);
    expect(history().length).toBe(before);
  });

  it('still shows the image after a reload: the history comes from the database', async () => {
    await page.reload();
    const thumb = page.getByRole('list', { name: 'Recent' }).getByRole('button', { name: 'Open image: a red fox in the snow' }).locator('img');
    await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
  });

  it('generates with Ctrl+Enter, a batch as a grid, and finds images by searching their prompt', async () => {
    await prompt().fill('一只蓝色的鲸鱼');
    await page.getByRole('combobox', { name: 'Size' }).selectOption('512x512');
    await page.getByRole('spinbutton', { name: 'Batch' }).fill('2');
    await prompt().press('Control+Enter');
    await expect.poll(() => page.locator('.result-grid > li').count()).toBe(2);
    await expect.poll(() => page.getByRole('img', { name: 'Generated image: 一只蓝色的鲸鱼' }).count(), { timeout: 60_000 }).toBe(2);
    await page.getByRole('spinbutton', { name: 'Batch' }).fill('1');
    await page.keyboard.press('Control+2');
    await page.getByRole('searchbox', { name: 'Search prompts, seeds and LoRAs' }).fill('鲸鱼');
    const tiles = page.getByRole('list', { name: 'Gallery' }).getByRole('button');
    await expect.poll(() => tiles.count()).toBe(2);
    await page.getByRole('searchbox', { name: 'Search prompts, seeds and LoRAs' }).fill('');
    await expect.poll(() => tiles.count()).toBe(3);
    await page.getByText('3 images').waitFor();
  });

  it('exports the gallery view as a ZIP of images, sidecars and a CSV', async () => {
    const bar = page.getByRole('toolbar', { name: 'Export' });
    await bar.getByRole('combobox', { name: 'Export as' }).selectOption('zip');
    await bar.getByRole('button', { name: 'Export this view' }).click();
    await page.getByText(/Exported 3 images with their recipes to .*\.zip/).waitFor({ timeout: 30_000 });
    const href = await page.getByRole('link', { name: 'Download the ZIP' }).getAttribute('href');
    const bytes = await page.evaluate(async (url) => [...new Uint8Array(await (await fetch(url!)).arrayBuffer()).slice(0, 4)], href);
    expect(bytes).toEqual([0x50, 0x4b, 0x03, 0x04]);
  });

  it('opens the seeds of one prompt side by side, and steps through the gallery with previous and next', async () => {
    await page.keyboard.press('Control+1');
    await prompt().fill('a red fox in the snow');
    await page.getByRole('textbox', { name: 'Seed' }).fill('8');
    await generate().click();
    await page.locator('figcaption').getByText(/· seed 8$/).waitFor({ timeout: 60_000 });
    await page.keyboard.press('Control+2');
    const foxes = page.getByRole('list', { name: 'Gallery' }).getByRole('button', { name: 'Open image: a red fox in the snow' });
    await expect.poll(() => foxes.count()).toBe(2);
    await foxes.first().click();
    const dialog = page.getByRole('dialog', { name: 'Recipe' });
    await dialog.getByText('1 of 4').waitFor();
    const seeds = dialog.getByRole('region', { name: 'Seeds of this prompt' });
    await seeds.getByRole('button', { name: 'Open the image with seed 7' }).click();
    await expect.poll(() => dialog.innerText()).toMatch(/Seed\s+7/);
    await dialog.getByText('4 of 4').waitFor();
    expect(await dialog.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
    await dialog.getByRole('button', { name: 'Previous' }).click();
    await dialog.getByText('3 of 4').waitFor();
    await expect.poll(() => dialog.innerText()).toContain('一只蓝色的鲸鱼');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await page.keyboard.press('Control+1');
  });

  it('shows the queue and cancels a waiting job, which never reaches the history', async () => {
    await page.getByRole('combobox', { name: 'Size' }).selectOption('1024x1024');
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('40');
    await page.getByRole('textbox', { name: 'Seed' }).fill('');
    await prompt().fill('a long first job');
    await generate().click();
    await prompt().fill('a job that waits');
    await generate().click();
    const queue = page.getByRole('list', { name: 'Queue' });
    await queue.getByRole('listitem', { name: 'a long first job' }).getByText('Running').waitFor();
    await queue.getByRole('listitem', { name: 'a job that waits' }).getByText('Waiting').waitFor();
    await page.getByRole('navigation', { name: 'Views' }).getByLabel('2 in the queue').waitFor();
    await page.screenshot({ path: join(screenshotsDir, 'queue.png') });
    await queue.getByRole('button', { name: 'Cancel: a job that waits' }).click();
    await queue.getByRole('listitem', { name: 'a job that waits' }).waitFor({ state: 'detached' });
    // Esc cancels the running one from anywhere in Create.
    await page.locator('.result-area').click();
    await page.keyboard.press('Escape');
    await queue.waitFor({ state: 'detached', timeout: 30_000 });
    await page.getByText('Cancelled.').first().waitFor();
    expect(history().map((h) => h.prompt)).not.toContain('a job that waits');
    expect(history().map((h) => h.prompt)).not.toContain('a long first job');
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('4');
    await page.getByRole('combobox', { name: 'Size' }).selectOption('512x512');
  });

  it('renders while typing in live mode: the newest prompt wins and the stale job is cancelled, not saved', async () => {
    // Long enough that the first prompt's job is still running when the second one arrives.
    await page.getByRole('combobox', { name: 'Size' }).selectOption('1024x1024');
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('24');
    await page.getByRole('checkbox', { name: 'Live: render while typing' }).check();
    await prompt().fill('a lighthouse');
    await page.getByRole('list', { name: 'Queue' }).getByRole('listitem', { name: 'a lighthouse' }).waitFor();
    await prompt().fill('a lighthouse at night');
    await page.getByRole('img', { name: 'Generated image: a lighthouse at night' }).waitFor({ timeout: 90_000 });
    await page.getByRole('checkbox', { name: 'Live: render while typing' }).uncheck();
    const prompts = history().map((h) => h.prompt);
    expect(prompts).toContain('a lighthouse at night');
    expect(prompts).not.toContain('a lighthouse');
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('4');
    await page.getByRole('combobox', { name: 'Size' }).selectOption('512x512');
  });

  it('drags the full-size file out of the gallery, not the thumbnail', async () => {
    await page.keyboard.press('Control+2');
    const tile = page.getByRole('list', { name: 'Gallery' }).getByRole('button', { name: 'Open image: a red fox in the snow' }).first();
    const dataTransfer = await page.evaluateHandle(() => new DataTransfer());
    await tile.dispatchEvent('dragstart', { dataTransfer });
    const [downloadUrl, uriList] = await dataTransfer.evaluate((dt) => [dt.getData('DownloadURL'), dt.getData('text/uri-list')]);
    const m = /^image\/jpeg:(studio-\d+-[0-9a-f]{8}\.jpg):(http:\/\/.+)$/.exec(downloadUrl);
    expect(m, downloadUrl).not.toBeNull();
    expect(uriList).toBe(m![2]);
    const bytes = await page.evaluate(async (url) => (await (await fetch(url)).arrayBuffer()).byteLength, m![2]!);
    const db = new Database(join(studio.dataDir, 'studio.db'), { readonly: true });
    const files = db.prepare("SELECT image_file FROM generations WHERE prompt = 'a red fox in the snow'").pluck().all() as string[];
    db.close();
    expect(files.map((f) => statSync(join(studio.dataDir, 'images', f)).size)).toContain(bytes);
  });

  it('exports a selection made in selection mode', async () => {
    await page.keyboard.press('Control+2');
    const bar = page.getByRole('toolbar', { name: 'Export' });
    await bar.getByRole('button', { name: 'Select' }).click();
    const tiles = page.getByRole('list', { name: 'Gallery' }).getByRole('button');
    await tiles.nth(0).click();
    await tiles.nth(2).click({ modifiers: ['Shift'] });
    await bar.getByText('3 selected').waitFor();
    await page.keyboard.press('Escape');
    await bar.getByText('0 selected').waitFor();
    await tiles.nth(1).click();
    await tiles.nth(3).click();
    await bar.getByText('2 selected').waitFor();
    await bar.getByRole('combobox', { name: 'Export as' }).selectOption('folder');
    await bar.getByRole('button', { name: 'Export selected' }).click();
    await page.getByText(/Exported 2 images with their recipes/).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(screenshotsDir, 'gallery-selection.png') });
    await bar.getByRole('button', { name: 'Done' }).click();
  });
});
