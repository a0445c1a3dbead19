// Every view at 800x600, 1280x800 and 1920x1080, in English and Chinese, light and dark: a screenshot of
// each in test-output/e2e/screens/, and a check that no button or input sticks out of its container or the
// window (a label that does not fit its button counts too).
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropFiles, launchChromium, openStudio, overflowingControls, repoRoot, screenshotsDir, startStudio, type RunningStudio } from './support.js';

const SIZES = [
  [800, 600],
  [1280, 800],
  [1920, 1080],
] as const;
const LOCALES = ['en', 'zh-CN'] as const;
const SCHEMES = ['light', 'dark'] as const;
const VIEWS = ['create', 'gallery', 'styles', 'models', 'detail'] as const;
const dir = join(screenshotsDir, 'screens');

describe('every view at every size, language and colour scheme', () => {
  let studio: RunningStudio;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    studio = await startStudio();
    browser = await launchChromium();
    page = await openStudio(browser, studio, { width: 1280, height: 800 });
    // Something in every view: two images, a LoRA card, a refused file.
    await dropFiles(page, '.app', [
      { name: 'watercolor-style.safetensors', bytes: new Uint8Array(readFileSync(join(repoRoot, 'test-fixtures', 'qwen-image', 'lora', 'lora_lightx2v_format.safetensors'))) },
      { name: 'old-model.ckpt', bytes: Uint8Array.from([0x80, 0x02, 0, 0, 0, 0, 0, 0]) },
    ]);
    await page.getByRole('listitem', { name: 'watercolor-style' }).waitFor();
    await page.keyboard.press('Control+1');
    await page.getByRole('textbox', { name: 'Prompt', exact: true }).fill('a quiet harbour at dawn, fishing boats, soft mist');
    await page.getByRole('combobox', { name: 'Size' }).selectOption('512x512');
    await page.getByRole('spinbutton', { name: 'Batch' }).fill('2');
    await page.getByRole('button', { name: 'Generate', exact: true }).click();
    await page.getByRole('img', { name: /^Generated image:/ }).nth(1).waitFor({ timeout: 60_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await studio?.stop();
  });

  async function show(view: (typeof VIEWS)[number]): Promise<void> {
    if (await page.locator('dialog[open]').count()) await page.keyboard.press('Escape');
    if (view === 'detail') {
      await page.keyboard.press('Control+2');
      await page.getByRole('list').locator('.tile').first().click();
      await page.locator('dialog[open] .detail-image img').evaluate((img: HTMLImageElement) => img.decode());
      return;
    }
    await page.keyboard.press(`Control+${VIEWS.indexOf(view) + 1}`);
    await page.locator(`.app.view-${view}`).waitFor();
    await page.waitForTimeout(view === 'create' ? 400 : 150);
  }

  it('fits at 800x600, 1280x800 and 1920x1080 in English and Chinese, light and dark', async () => {
    const problems: string[] = [];
    for (const locale of LOCALES) {
      await page.evaluate((l) => localStorage.setItem('studio.locale', l), locale);
      await page.reload();
      await page.locator('.app').waitFor();
      expect(await page.evaluate(() => document.documentElement.lang)).toBe(locale);
      for (const [width, height] of SIZES) {
        await page.setViewportSize({ width, height });
        for (const view of VIEWS) {
          await show(view);
          for (const scheme of SCHEMES) {
            await page.emulateMedia({ colorScheme: scheme });
            await page.screenshot({ path: join(dir, `${view}-${width}x${height}-${locale}-${scheme}.png`) });
          }
          for (const p of await overflowingControls(page)) problems.push(`${view} ${width}x${height} ${locale}: ${p}`);
          if (view === 'detail') await page.keyboard.press('Escape');
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
