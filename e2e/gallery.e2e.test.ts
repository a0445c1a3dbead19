// The gallery over a large history: 100,000 rows, scrolled, searched, filtered, favourited and pruned,
// without the page ever holding more than a screenful of tiles. Every row has files of its own (hard links
// to one real image, so 100,000 files cost no space), so deleting one row must remove exactly its files.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openStudio, repoRoot, screenshotsDir, startStudio, type RunningStudio } from './support.js';

const ROWS = 100_000;

const imageOf = (i: number, ext: string) => `rows/img-${i}.${ext}`;
const thumbOf = (i: number) => `rows/thumb-${i}.${THUMB_EXT}`;
/** Thumbnails keep the extension the studio gives them (the file server types files by it). */
let THUMB_EXT = 'webp';

/** One real generation, then 99,999 copies of its row with their own ids, prompts, seeds, times and files. */
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
  const ext = String(row.image_file).split('.').pop()!;
  THUMB_EXT = String(row.thumb_file).split('.').pop()!;
  mkdirSync(join(dataDir, 'images', 'rows'));
  mkdirSync(join(dataDir, 'thumbs', 'rows'));
  db.transaction(() => {
    for (let i = 1; i < ROWS; i++) {
      const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      // A file system allows some 65,000 links to one file: every 50,000 rows link to a fresh copy.
      const [image, thumb] = [join(dataDir, 'images', `rows/source-${Math.floor(i / 50_000)}.${ext}`), join(dataDir, 'thumbs', `rows/source-${Math.floor(i / 50_000)}.${THUMB_EXT}`)];
      if (i % 50_000 === 0 || i === 1) {
        copyFileSync(join(dataDir, 'images', row.image_file as string), image);
        copyFileSync(join(dataDir, 'thumbs', row.thumb_file as string), thumb);
      }
      linkSync(image, join(dataDir, 'images', imageOf(i, ext)));
      linkSync(thumb, join(dataDir, 'thumbs', thumbOf(i)));
      insert.run(id, (row.created_at as number) - i * 1000, `${subjects[i % 4]}, variation ${i}`, 10_000 + i, row.recipe_json, row.durations_json, row.format, imageOf(i, ext), thumbOf(i));
    }
  })();
  db.close();
}

describe('gallery at 100,000 images', () => {
  let studio: RunningStudio;
  let browser: Browser;
  let page: Page;
  let ext = 'jpg';
  const tiles = () => page.getByRole('list', { name: 'Gallery' }).getByRole('button');
  const search = () => page.getByRole('searchbox', { name: 'Search prompts, seeds and LoRAs' });
  /** The gallery's count of the images the search and filters match. */
  const count = () => page.locator('.gallery-view .count').innerText();

  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'studio-e2e-gallery-'));
    seedHistory(dataDir);
    const db = new Database(join(dataDir, 'studio.db'), { readonly: true });
    ext = String((db.prepare("SELECT image_file FROM generations WHERE prompt = 'the original'").pluck().get() as string).split('.').pop());
    db.close();
    studio = await startStudio(dataDir);
    browser = await launchChromium();
    page = await openStudio(browser, studio, { width: 1400, height: 1000 });
    page.on('dialog', (d) => void d.accept());
    await page.keyboard.press('Control+2');
    await tiles().filter({ has: page.locator('img') }).first().waitFor();
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

  it('says exactly how many images the history holds, and how many a search or filter matches', async () => {
    await expect.poll(count).toBe('100,000 images');
    // Every fourth variation is a red fox (4, 8, … 99,996); every image but the original is a variation.
    await search().fill('red fox');
    await expect.poll(count).toBe('24,999 images');
    await search().fill('variation');
    await expect.poll(count).toBe('99,999 images');
    await search().fill('"variation 99999"');
    await expect.poll(count).toBe('1 image');
    await search().fill('');
    await page.getByRole('textbox', { name: 'Seed' }).fill('10042');
    await expect.poll(count).toBe('1 image');
    await page.getByRole('textbox', { name: 'Seed' }).fill('');
    await expect.poll(count).toBe('100,000 images');
  });

  it('searches and filters the whole history', async () => {
    // Every word must match, a number as text or as the seed: the image whose prompt says 99999, and the
    // one whose seed is 99999 (variation 89999).
    await search().fill('99999 variation');
    await expect.poll(() => tiles().count()).toBe(2);
    await search().fill('');
    await page.getByRole('textbox', { name: 'Seed' }).fill('10042');
    await expect.poll(async () => (await tiles().count()) === 1 && (await tiles().first().getAttribute('aria-label'))).toContain('variation 42');
    await page.getByRole('textbox', { name: 'Seed' }).fill('');
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

    await search().fill('"variation 77777"');
    expect(existsSync(join(studio.dataDir, 'images', imageOf(77777, ext)))).toBe(true);
    await page.getByRole('button', { name: 'Open image: a blue whale, variation 77777' }).click();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Recipe' }).waitFor({ state: 'hidden' });
    await expect.poll(() => tiles().count()).toBe(0);
    await page.getByText('No image matches this search.').waitFor();
    expect(await count()).toBe('0 images');
    await search().fill('');
    await expect.poll(count).toBe('99,999 images');
    // Exactly that image's files are gone; its neighbours' and the original's are all there.
    expect(existsSync(join(studio.dataDir, 'images', imageOf(77777, ext)))).toBe(false);
    expect(existsSync(join(studio.dataDir, 'thumbs', thumbOf(77777)))).toBe(false);
    for (const i of [1, 77776, 77778, 99999]) {
      expect(existsSync(join(studio.dataDir, 'images', imageOf(i, ext)))).toBe(true);
      expect(existsSync(join(studio.dataDir, 'thumbs', thumbOf(i)))).toBe(true);
    }
    await search().fill('variation 77776');
    const neighbour = page.getByRole('button', { name: 'Open image: a red fox, variation 77776' }).locator('img');
    await neighbour.waitFor();
    await expect.poll(() => neighbour.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), { timeout: 15_000 }).toBe(true);
  });
});
