// The studio with the keyboard only: import a LoRA, generate, open an image, go to the next one, export a
// selection. No click anywhere; Tab, arrows, Space, Enter and the shortcuts the UI names.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openStudio, repoRoot, startStudio, type RunningStudio } from './support.js';

describe('keyboard only', () => {
  let studio: RunningStudio;
  let browser: Browser;
  let page: Page;

  /** Presses Tab (or Shift+Tab) until the focused element's name matches, as a keyboard user would. */
  async function tabTo(name: RegExp, back = false): Promise<void> {
    for (let i = 0; i < 80; i++) {
      const label = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        return el ? `${el.getAttribute('aria-label') ?? ''}|${el.innerText ?? ''}|${(el as HTMLInputElement).value ?? ''}` : '';
      });
      if (label.split('|').some((part) => name.test(part.trim()))) return;
      await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    }
    throw new Error(`no focusable element named ${name} within 80 Tab presses`);
  }

  beforeAll(async () => {
    studio = await startStudio();
    browser = await launchChromium();
    page = await openStudio(browser, studio, { width: 1280, height: 800 });
    // A mouse that moves would be a mistake here: fail loudly if anything clicks.
    await page.evaluate(() => window.addEventListener('mousedown', () => document.body.setAttribute('data-mouse', 'used'), true));
  });
  afterAll(async () => {
    expect(await page.evaluate(() => document.body.getAttribute('data-mouse'))).toBe(null);
    await browser?.close();
    await studio?.stop();
  });

  it('imports a LoRA from the Styles view', async () => {
    // Listen for the chooser before moving focus: Playwright turns the browser's file-chooser interception on
    // asynchronously, and on a loaded machine an Enter pressed right after subscribing can beat it.
    const chooser = page.waitForEvent('filechooser');
    await page.keyboard.press('Control+3');
    await tabTo(/^Choose files…$/);
    await page.keyboard.press('Enter');
    await (await chooser).setFiles([{ name: 'ink-style.safetensors', mimeType: 'application/octet-stream', buffer: readFileSync(join(repoRoot, 'test-fixtures', 'qwen-image', 'lora', 'lora_lightx2v_format.safetensors')) }]);
    await page.getByText('Added ink-style.safetensors.').waitFor();
    await tabTo(/^Use in Create$/);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'In use' }).waitFor();
  });

  it('generates two images with the prompt focused by the Create shortcut and Ctrl+Enter', async () => {
    await page.keyboard.press('Control+1');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('prompt');
    await page.keyboard.type('a heron in the reeds');
    await tabTo(/^1024x1024$/);
    await page.keyboard.press('End');
    await expect.poll(() => page.getByRole('combobox', { name: 'Size' }).inputValue()).toBe('custom');
    await page.keyboard.press('ArrowUp');
    await expect.poll(() => page.getByRole('combobox', { name: 'Size' }).inputValue()).toBe('512x512');
    await page.keyboard.press('Control+Enter');
    await page.getByRole('img', { name: 'Generated image: a heron in the reeds' }).waitFor({ timeout: 60_000 });
    await page.keyboard.press('Control+Enter');
    await expect.poll(() => page.getByRole('list', { name: 'Recent' }).getByRole('button').count(), { timeout: 60_000 }).toBe(2);
  });

  it('opens an image from the gallery, goes to the next one, and closes the dialog', async () => {
    await page.keyboard.press('Control+2');
    await tabTo(/^Open image: a heron in the reeds$/);
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Recipe' });
    await dialog.getByText('1 of 2').waitFor();
    await page.keyboard.press('ArrowRight');
    await dialog.getByText('2 of 2').waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
  });

  it('selects two images and exports the selection', async () => {
    await tabTo(/^Select$/, true);
    await page.keyboard.press('Enter');
    await tabTo(/^Select image: a heron in the reeds$/);
    await page.keyboard.press('Space');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Space');
    await page.getByText('2 selected').waitFor();
    await tabTo(/^Export selected$/, true);
    await page.keyboard.press('Enter');
    await page.getByText(/Exported 2 images with their recipes/).waitFor({ timeout: 30_000 });
  });
});
