// The gallery over a large history: 100,000 rows, scrolled, searched, filtered, favourited and pruned,
// without the page ever holding more than a screenful of tiles.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, repoRoot, screenshotsDir, startStudio, type RunningStudio } from './support.js';

const ROWS = 100_000;

/** One real generation, then 99,999 copies of its row with their own ids, prompts, seeds and times. */
function seedHistory(dataDir: string): void {
  execFileSync(process.execPath, [join(repoRoot, 'bin', 'studio.js'), 'generate', '--prompt', 'the original', '--seed', '1', '--size', '256x256', '--steps', '1'], {
    env: { ...process.env, STUDIO_DATA_DIR: dataDir, STUDIO_THREADS: '2' },
    stdio: 'ignore',
  });
  const db = new Database(join(dataDir, 'studio.db'));
  const row = db.prepare('SELECT * FROM generations').get() as Record<string, unknown>;
  const insert = db.prepare(
    `INSERT INTO generations (id, created_at, prompt, negative_prompt, seed, steps, guidance, width, height, model_id, recipe_json, durations_json, format, image_file, thumb_file)
     VALUES (?, ?, ?, '', ?, 1, 1, 256, 256, 'demo', ?, ?, ?, ?, ?)`,
  );
  const subjects = ['a red fox', 'a blue whale', 'an old lighthouse', '一只红色的狐狸'];
  db.transaction(() => {
    for (let i = 1; i < ROWS; i++) {
      const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      insert.run(id, (row.created_at as number) - i * 1000, `${subjects[i % 4]}, variation ${i}`, 10_000 + i, row.recipe_json, row.durations_json, row.format, row.image_file, row.thumb_file);
    }
  })();
  db.close();
}

describe('gallery at 100,000 images', () => {
  let studio: RunningStudio;
  let browser: Browser;
  let page: Page;
  const tiles = () => page.getByRole('list', { name: 'Gallery' }).getByRole('button');

  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'studio-e2e-gallery-'));
    seedHistory(dataDir);
    studio = await startStudio(dataDir);
    browser = await launchChromium();
    page = await (await browser.newContext({ locale: 'en-US', viewport: { width: 1400, height: 1000 } })).newPage();
    page.on('dialog', (d) => void d.accept());
    await page.goto(studio.launchUrl);
    await page.getByRole('button', { name: 'Open image: the original' }).waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await studio?.stop();
  });

  it('renders only the visible tiles, and keeps it so while scrolling deep', async () => {
    expect(await tiles().count()).toBeLessThan(200);
    const scroller = page.locator('.grid-scroller');
    for (let i = 0; i < 25; i++) {
      await scroller.evaluate((el) => el.scrollBy(0, el.clientHeight * 4));
      await page.waitForTimeout(40);
    }
    const deepest = await scroller.evaluate((el) => el.scrollTop);
    expect(deepest).toBeGreaterThan(20_000);
    await expect.poll(() => tiles().count()).toBeGreaterThan(0);
    expect(await tiles().count()).toBeLessThan(200);
    // Further pages were fetched as the scroll went on.
    const labels = await tiles().evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
    expect(labels.some((l) => /variation (\d{3,})/.test(l ?? ''))).toBe(true);
    await page.screenshot({ path: join(screenshotsDir, 'gallery-100k.png') });
  });

  it('searches and filters the whole history', async () => {
    // Every word must match, a number as text or as the seed: the image whose prompt says 99999, and the
    // one whose seed is 99999 (variation 89999).
    await page.getByRole('searchbox', { name: 'Search prompts' }).fill('99999 variation');
    await expect.poll(() => tiles().count()).toBe(2);
    await page.getByRole('searchbox', { name: 'Search prompts' }).fill('');
    await page.getByRole('spinbutton', { name: 'Filter by seed' }).fill('10042');
    await expect.poll(async () => (await tiles().count()) === 1 && (await tiles().first().getAttribute('aria-label'))).toContain('variation 42');
    await page.getByRole('spinbutton', { name: 'Filter by seed' }).fill('');
    await expect.poll(() => tiles().count()).toBeGreaterThan(10);
  });

  it('moves through the grid with the arrow keys', async () => {
    await tiles().first().focus();
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-index'))).toBe('1');
    await page.keyboard.press('ArrowDown');
    await expect.poll(async () => Number(await page.evaluate(() => document.activeElement?.getAttribute('data-index')))).toBeGreaterThan(2);
  });

  it('favourites an image, filters favourites, and deletes one', async () => {
    await page.getByRole('button', { name: 'Open image: the original' }).click();
    await page.getByRole('button', { name: 'Add to favourites' }).click();
    await page.getByRole('button', { name: 'Remove from favourites' }).waitFor();
    await page.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('checkbox', { name: 'Favourites only' }).check();
    await expect.poll(() => tiles().count()).toBe(1);
    await page.getByRole('checkbox', { name: 'Favourites only' }).uncheck();

    await page.getByRole('searchbox', { name: 'Search prompts' }).fill('"variation 77777"');
    await page.getByRole('button', { name: 'Open image: a blue whale, variation 77777' }).click();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Recipe' }).waitFor({ state: 'hidden' });
    await expect.poll(() => tiles().count()).toBe(0);
    await page.getByText('No image matches this search.').waitFor();
  });
});
