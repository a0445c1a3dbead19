// The whole studio as a user meets it: type a prompt, generate, find it in the gallery, read its recipe, reload.
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshotsDir, startStudio, type RunningStudio } from './support.js';

describe('studio in Chromium', () => {
  let studio: RunningStudio;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    studio = await startStudio();
    browser = await launchChromium();
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    await page.goto(studio.launchUrl);
  });
  afterAll(async () => {
    await browser?.close();
    await studio?.stop();
  });

  it('opens on the create view, says honestly that the demo model paints abstract images', async () => {
    await expect.poll(() => page.url()).toBe(`${studio.url}/`);
    await page.getByRole('heading', { name: 'Create' }).waitFor();
    await page.getByText('Demo model: a tiny, untrained Qwen-Image').waitFor();
    expect(await page.getByRole('button', { name: 'Generate' }).isEnabled()).toBe(true);
  });

  it('says before generating how the model will run at the chosen size on this machine', async () => {
    const summary = page.locator('.plan-summary summary');
    await summary.getByText(/^Runs as: everything loaded at once, f32 · peak \d+\.\d GB · about \d+\.\d\d s per step on CPU \(\d+ threads\), \d+\.\d GB$/).waitFor();
    await page.getByRole('combobox', { name: 'Size' }).selectOption('512x512');
    await summary.click();
    const table = page.locator('.plan-summary table');
    await table.waitFor();
    expect(await table.locator('tr.chosen td').first().innerText()).toBe('everything loaded at once, f32');
    expect(await table.locator('tbody tr').count()).toBeGreaterThanOrEqual(4);
    await page.screenshot({ path: join(screenshotsDir, 'plan.png') });
    await summary.click();
  });

  it('turns a typed prompt into an image, shown and added to the gallery', async () => {
    await page.getByRole('textbox', { name: 'Prompt' }).fill('a red fox in the snow');
    await page.getByRole('combobox', { name: 'Size' }).selectOption('512x512');
    await page.getByRole('spinbutton', { name: 'Seed', exact: true }).fill('7');
    await page.getByRole('button', { name: 'Generate' }).click();
    const result = page.getByRole('img', { name: 'Generated image: a red fox in the snow' });
    await result.waitFor({ timeout: 60_000 });
    await expect.poll(() => result.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(512);
    await page.getByRole('button', { name: 'Open image: a red fox in the snow' }).waitFor();
    await page.screenshot({ path: join(screenshotsDir, 'create-result.png') });
  });

  it('shows the full recipe of a gallery image', async () => {
    await page.getByRole('button', { name: 'Open image: a red fox in the snow' }).click();
    const dialog = page.getByRole('dialog', { name: 'Recipe' });
    await dialog.waitFor();
    const text = await dialog.innerText();
    expect(text).toContain('a red fox in the snow');
    expect(text).toMatch(/Seed\s+7/);
    expect(text).toMatch(/Size\s+512 × 512/);
    expect(text).toMatch(/Steps\s+4/);
    expect(text).toContain('transformer/diffusion_pytorch_model.safetensors');
    await dialog.getByRole('button', { name: 'Show file' }).click();
    await dialog.getByText(new RegExp(`The file is at ${studio.dataDir}/images/.*\\.jpg`)).waitFor();
    await page.screenshot({ path: join(screenshotsDir, 'recipe.png') });
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'hidden' });
  });

  it('still shows the image after a reload: the gallery comes from the history database', async () => {
    await page.reload();
    await page.getByRole('button', { name: 'Open image: a red fox in the snow' }).waitFor();
    const thumb = page.getByRole('button', { name: 'Open image: a red fox in the snow' }).locator('img');
    await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
  });

  it('generates with Ctrl+Enter and finds images by searching their prompt', async () => {
    await page.getByRole('textbox', { name: 'Prompt' }).fill('一只蓝色的鲸鱼');
    await page.getByRole('textbox', { name: 'Prompt' }).press('Control+Enter');
    await page.getByRole('img', { name: 'Generated image: 一只蓝色的鲸鱼' }).waitFor({ timeout: 60_000 });
    await page.getByRole('searchbox', { name: 'Search prompts' }).fill('鲸鱼');
    await expect.poll(() => page.getByRole('list', { name: 'Gallery' }).getByRole('button').count()).toBe(1);
    await page.getByRole('searchbox', { name: 'Search prompts' }).fill('');
    await expect.poll(() => page.getByRole('list', { name: 'Gallery' }).getByRole('button').count()).toBe(2);
  });

  it('exports the gallery view as a ZIP of images, sidecars and a CSV', async () => {
    await page.getByRole('combobox', { name: 'Export as' }).selectOption('zip');
    await page.getByRole('button', { name: 'Export this view' }).click();
    await page.getByText(/Exported 2 images with their recipes to .*\.zip/).waitFor({ timeout: 30_000 });
    const href = await page.getByRole('link', { name: 'Download the ZIP' }).getAttribute('href');
    const bytes = await page.evaluate(async (url) => [...new Uint8Array(await (await fetch(url!)).arrayBuffer()).slice(0, 4)], href);
    expect(bytes).toEqual([0x50, 0x4b, 0x03, 0x04]);
    await page.screenshot({ path: join(screenshotsDir, 'export.png') });
  });

  it('shows the seeds of one prompt side by side and opens another from there', async () => {
    await page.getByRole('textbox', { name: 'Prompt' }).fill('a red fox in the snow');
    await page.getByRole('spinbutton', { name: 'Seed', exact: true }).fill('8');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.locator('figcaption').getByText(/· seed 8(\s|$)/).waitFor({ timeout: 60_000 });
    const foxes = page.getByRole('button', { name: 'Open image: a red fox in the snow' });
    await expect.poll(() => foxes.count()).toBe(2);
    await foxes.first().click();
    await page.getByRole('dialog', { name: 'Recipe' }).waitFor();
    const seeds = page.getByRole('region', { name: 'Seeds of this prompt' });
    await seeds.getByRole('button', { name: 'Open the image with seed 7' }).click();
    await expect.poll(() => page.getByRole('dialog', { name: 'Recipe' }).innerText()).toMatch(/Seed\s+7/);
    await page.screenshot({ path: join(screenshotsDir, 'seed-history.png') });
    await page.getByRole('button', { name: 'Close' }).click();
  });

  it('renders while typing in live mode, and the newest prompt wins', async () => {
    await page.getByRole('checkbox', { name: 'Live: render while typing' }).check();
    const prompt = page.getByRole('textbox', { name: 'Prompt' });
    await prompt.fill('a lighthouse');
    await page.waitForTimeout(600);
    await prompt.fill('a lighthouse at night');
    await page.getByRole('img', { name: 'Generated image: a lighthouse at night' }).waitFor({ timeout: 60_000 });
    await page.getByRole('checkbox', { name: 'Live: render while typing' }).uncheck();
  });

  it('generates at a custom size, exports a Ctrl+click selection, and Esc cancels a long job', async () => {
    await page.getByRole('textbox', { name: 'Prompt' }).fill('a tall narrow tower');
    await page.getByRole('combobox', { name: 'Size' }).selectOption('custom');
    await page.getByRole('spinbutton', { name: 'Width' }).fill('320');
    await page.getByRole('spinbutton', { name: 'Height' }).fill('448');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.locator('figcaption').getByText(/^320 × 448 · seed/).waitFor({ timeout: 60_000 });

    const tiles = page.getByRole('list', { name: 'Gallery' }).getByRole('button');
    await tiles.nth(0).click({ modifiers: ['Control'] });
    await tiles.nth(1).click({ modifiers: ['Control'] });
    await page.getByRole('button', { name: /Export selected \(2 selected\)/ }).click();
    await page.getByText(/Exported 2 images with their recipes/).waitFor({ timeout: 30_000 });

    await page.getByRole('spinbutton', { name: 'Width' }).fill('1024');
    await page.getByRole('spinbutton', { name: 'Height' }).fill('1024');
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('50');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByRole('status').filter({ hasText: /Step \d+ of 50/ }).waitFor({ timeout: 90_000 });
    await page.keyboard.press('Escape');
    await page.getByText('Cancelled.').waitFor();
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('4');
    await page.getByRole('combobox', { name: 'Size' }).selectOption('512x512');
  });

  it('explains a refused request instead of failing silently', async () => {
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('0');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByRole('alert').filter({ hasText: 'Steps must be between 1 and 50' }).waitFor();
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('4');
    // A seed past 2^32-1 is refused, not quietly turned into seed 0.
    await page.getByRole('spinbutton', { name: 'Seed', exact: true }).fill('4294967296');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByRole('alert').filter({ hasText: '4294967295' }).waitFor();
    await page.getByRole('spinbutton', { name: 'Seed', exact: true }).fill('');
  });

  it('switches to Chinese', async () => {
    await page.getByLabel('Language').selectOption('zh-CN');
    await page.getByRole('heading', { name: '创作' }).waitFor();
    await page.getByRole('button', { name: '生成' }).waitFor();
    await page.screenshot({ path: join(screenshotsDir, 'create-zh.png') });
    await page.getByLabel('语言').selectOption('en');
  });
});
