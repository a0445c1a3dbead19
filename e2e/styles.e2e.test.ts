// Styles and recipes as a user meets them: import LoRAs with the file picker and by dropping them (a LoRA
// for a family the studio does not run and a pickle refused with the reason, an SDXL LoRA welcome and
// labelled with its family), generate with a style, guidance 4 and a negative prompt, then get exactly that
// recipe back through Use recipe, Reuse seed and Reproduce, and from PNG files dropped on the window: the
// studio's own and one written by A1111. A LoRA of another family than the model in Create is refused, with
// the reason, before Generate: on its card and in the form.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPngText } from '../app/main/images/png-text.js';
import type { Recipe } from '../app/shared/generation.js';
import { encodeSafetensors, readSafetensorsHeader, readTensorBytes } from '../app/worker/safetensors/safetensors.js';
import { SDXL_LORA, sdxlTurboFolder } from '../app/worker/test-support/sd-layout.js';
import { dropFiles, launchChromium, openStudio, repoRoot, screenshotsDir, startStudio, type RunningStudio } from './support.js';

const fixtureLora = join(repoRoot, 'test-fixtures', 'qwen-image', 'lora', 'lora_lightx2v_format.safetensors');

/** The fixture LoRA re-written with other metadata: same weights, another file (another hash). */
async function variant(note: string): Promise<Uint8Array> {
  const h = await readSafetensorsHeader(fixtureLora);
  const tensors = await Promise.all([...h.tensors.values()].map(async (t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: await readTensorBytes(h, t.name) })));
  return encodeSafetensors(tensors, { note });
}

/** A PEFT-format FLUX LoRA: a family the studio does not run (SDXL LoRAs are welcome since SDXL-Turbo runs). */
function fluxLora(): Uint8Array {
  const t = (name: string, shape: number[]) => ({ name, dtype: 'F32' as const, shape, data: new Uint8Array(shape.reduce((a, b) => a * b, 1) * 4) });
  return encodeSafetensors([
    t('transformer.single_transformer_blocks.0.attn.to_q.lora_A.weight', [4, 3072]),
    t('transformer.single_transformer_blocks.0.attn.to_q.lora_B.weight', [3072, 4]),
  ]);
}

interface Row {
  readonly id: string;
  readonly recipe: Recipe;
  readonly format: string;
  readonly imageFile: string;
}

describe('styles and recipes in Chromium', () => {
  let studio: RunningStudio;
  let browser: Browser;
  let page: Page;
  const prompt = () => page.getByRole('textbox', { name: 'Prompt', exact: true });
  const generate = () => page.getByRole('button', { name: 'Generate', exact: true });
  const rows = (): Row[] => {
    const db = new Database(join(studio.dataDir, 'studio.db'), { readonly: true });
    try {
      return (db.prepare('SELECT id, recipe_json, format, image_file FROM generations ORDER BY created_at').all() as { id: string; recipe_json: string; format: string; image_file: string }[]).map((r) => ({
        id: r.id,
        recipe: JSON.parse(r.recipe_json) as Recipe,
        format: r.format,
        imageFile: r.image_file,
      }));
    } finally {
      db.close();
    }
  };
  /** Waits for one more image in the history than `before`, and returns it. */
  const nextRow = async (before: number): Promise<Row> => {
    await expect.poll(() => rows().length, { timeout: 60_000 }).toBe(before + 1);
    return rows().at(-1)!;
  };
  const pixels = async (row: Row) => (await sharp(join(studio.dataDir, 'images', row.imageFile)).raw().toBuffer()).toString('base64');
  /** Puts the form somewhere else entirely, so a recipe must restore every field. */
  const scramble = async () => {
    await page.keyboard.press('Control+1');
    await prompt().fill('something else entirely');
    await page.getByRole('textbox', { name: 'Negative prompt' }).fill('');
    await page.getByRole('spinbutton', { name: 'Guidance' }).fill('1');
    await page.getByRole('combobox', { name: 'Speed' }).selectOption({ label: 'None (model default)' });
    while ((await page.getByRole('button', { name: 'Remove this style' }).count()) > 0) await page.getByRole('button', { name: 'Remove this style' }).first().click();
    await page.getByRole('combobox', { name: 'Size' }).selectOption('1024x1024');
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('3');
    await page.getByRole('textbox', { name: 'Seed' }).fill('');
    await page.getByRole('combobox', { name: 'Output' }).selectOption('jpeg80');
  };
  let original: Row;

  beforeAll(async () => {
    studio = await startStudio();
    browser = await launchChromium();
    page = await openStudio(browser, studio, { width: 1400, height: 1000 });
    page.on('dialog', (d) => void d.accept());
  });
  afterAll(async () => {
    await browser?.close();
    await studio?.stop();
  });

  it('imports LoRAs with the file picker, explains why a pickle and a FLUX LoRA are refused, and labels an SDXL LoRA with its family', async () => {
    const chooser = page.waitForEvent('filechooser'); // before anything else: the interception turns on asynchronously
    await page.keyboard.press('Control+3');
    await page.getByText('No LoRAs yet.').waitFor();
    await page.getByRole('button', { name: 'Choose files…' }).click();
    await (
      await chooser
    ).setFiles([
      { name: 'anime-style.safetensors', mimeType: 'application/octet-stream', buffer: readFileSync(fixtureLora) },
      { name: 'Qwen-Image-Lightning-4steps-V1.0.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(await variant('speed')) },
      { name: 'pytorch_lora_weights.bin', mimeType: 'application/octet-stream', buffer: Buffer.from([0x80, 0x04, 0x95, 0, 0, 0, 0, 0]) },
      { name: 'flux-pixel-art.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(fluxLora()) },
      { name: 'xl-ink.safetensors', mimeType: 'application/octet-stream', buffer: readFileSync(SDXL_LORA) },
    ]);
    await page.getByRole('listitem', { name: 'anime-style' }).waitFor();
    await page.getByRole('listitem', { name: 'Qwen-Image-Lightning-4steps-V1.0' }).getByText('Lightning 4-step').waitFor();
    await page.getByText('Added anime-style.safetensors.').waitFor();
    await page.getByRole('alert').filter({ hasText: 'pytorch_lora_weights.bin was not added' }).filter({ hasText: 'never opens one' }).waitFor();
    await page
      .getByRole('alert')
      .filter({ hasText: /^flux-pixel-art\.safetensors was not added: flux-pixel-art\.safetensors is a LoRA for FLUX, not for a model the studio runs \(.*Qwen-Image.*\); it was not added\.$/ })
      .waitFor();
    // SDXL-Turbo runs, so its LoRAs are welcome: the card says which family it is for.
    await page.getByText('Added xl-ink.safetensors.').waitFor();
    await page.getByRole('listitem', { name: 'xl-ink' }).getByText('SDXL LoRA, for SDXL-Turbo models').waitFor();
    await page.getByRole('listitem', { name: 'anime-style' }).getByText('Qwen-Image LoRA, for Qwen-Image models').waitFor();
    expect(await page.locator('.cards > li').count()).toBe(3);
    await page.screenshot({ path: join(screenshotsDir, 'styles-import.png') });

    // Dropped on the window (the drop target lights up): the same weights again are recognised, not copied twice.
    await dropFiles(page, '.app', [{ name: 'anime-copy.safetensors', bytes: new Uint8Array(readFileSync(fixtureLora)) }]);
    await page.getByText('anime-copy.safetensors is already in the library.').waitFor();
    expect(await page.locator('.cards > li').count()).toBe(3);
  });

  it('applies a style from its card with the strength shown, and generates with it, guidance 4 and a negative prompt', async () => {
    const card = page.getByRole('listitem', { name: 'anime-style' });
    await card.getByRole('slider', { name: 'Strength for anime-style' }).fill('0.75');
    await card.getByText('0.75').waitFor();
    await card.getByRole('button', { name: 'Use in Create' }).click();
    await card.getByRole('button', { name: 'In use' }).waitFor();
    await page.keyboard.press('Control+1');
    await prompt().fill('a lighthouse at dusk');
    await page.getByRole('combobox', { name: 'Speed' }).selectOption({ label: 'Lightning 4-step' });
    expect(await page.getByRole('spinbutton', { name: 'Steps' }).inputValue()).toBe('4');
    expect(await page.getByRole('combobox', { name: 'Style', exact: true }).inputValue()).toBeTruthy();
    expect(await page.getByRole('slider', { name: 'Style strength' }).inputValue()).toBe('0.75');
    await page.getByRole('spinbutton', { name: 'Guidance' }).fill('4');
    await page.getByRole('textbox', { name: 'Negative prompt' }).fill('fog, blur');
    await page.getByRole('combobox', { name: 'Size' }).selectOption('512x512');
    await page.getByRole('textbox', { name: 'Seed' }).fill('2024');
    await page.getByRole('combobox', { name: 'Output' }).selectOption('png');
    const before = rows().length;
    await generate().click();
    original = await nextRow(before);
    expect(original.recipe).toMatchObject({ prompt: 'a lighthouse at dusk', negativePrompt: 'fog, blur', guidance: 4, seed: 2024, steps: 4, width: 512, height: 512 });
    expect(original.recipe.loras.map((l) => [l.name, l.role, l.strength])).toEqual([
      ['Qwen-Image-Lightning-4steps-V1.0', 'speed', 1],
      ['anime-style', 'style', 0.75],
    ]);
    expect(original.format).toBe('png');
  });

  it('Use recipe gives back the same recipe in every field', async () => {
    await scramble();
    await page.keyboard.press('Control+2');
    await page.getByRole('list', { name: 'Gallery' }).getByRole('button', { name: 'Open image: a lighthouse at dusk' }).click();
    await page.getByRole('dialog', { name: 'Recipe' }).getByRole('button', { name: 'Use this recipe' }).click();
    const before = rows().length;
    await generate().click();
    const again = await nextRow(before);
    expect(again.recipe).toEqual(original.recipe);
    expect(again.format).toBe(original.format);
  });

  it('Reuse seed gives back the same recipe in every field', async () => {
    await page.locator('figcaption').getByText(/· seed 2024$/).waitFor();
    await scramble();
    await page.getByRole('button', { name: 'Reuse this seed' }).click();
    await expect.poll(() => prompt().inputValue()).toBe('a lighthouse at dusk');
    const before = rows().length;
    await generate().click();
    const again = await nextRow(before);
    expect(again.recipe).toEqual(original.recipe);
    expect(again.format).toBe(original.format);
  });

  it('Reproduce makes the same recipe and the same pixels', async () => {
    await scramble();
    await page.keyboard.press('Control+2');
    await page.getByRole('list', { name: 'Gallery' }).getByRole('button', { name: 'Open image: a lighthouse at dusk' }).first().click();
    const before = rows().length;
    await page.getByRole('dialog', { name: 'Recipe' }).getByRole('button', { name: 'Reproduce' }).click();
    const again = await nextRow(before);
    expect(again.recipe).toEqual(original.recipe);
    expect(again.format).toBe(original.format);
    expect(await pixels(again)).toBe(await pixels(original));
  });

  it('fills the form from a PNG the studio wrote, dropped on the window', async () => {
    await scramble();
    const png = readFileSync(join(studio.dataDir, 'images', original.imageFile));
    await dropFiles(page, '.app', [{ name: 'lighthouse.png', bytes: new Uint8Array(png) }]);
    await page.getByText('Filled the form from the recipe in lighthouse.png.').waitFor();
    expect(await prompt().inputValue()).toBe('a lighthouse at dusk');
    expect(await page.getByRole('textbox', { name: 'Negative prompt' }).inputValue()).toBe('fog, blur');
    expect(await page.getByRole('spinbutton', { name: 'Guidance' }).inputValue()).toBe('4');
    expect(await page.getByRole('textbox', { name: 'Seed' }).inputValue()).toBe('2024');
    expect(await page.getByRole('combobox', { name: 'Size' }).inputValue()).toBe('512x512');
    expect(await page.getByRole('spinbutton', { name: 'Steps' }).inputValue()).toBe('4');
    expect(await page.getByRole('combobox', { name: 'Speed' }).locator('option:checked').innerText()).toBe('Lightning 4-step');
    expect(await page.getByRole('combobox', { name: 'Style', exact: true }).locator('option:checked').innerText()).toBe('anime-style');
    expect(await page.getByRole('slider', { name: 'Style strength' }).inputValue()).toBe('0.75');
    const before = rows().length;
    await generate().click();
    const again = await nextRow(before);
    // The format is the one thing a PNG does not say about itself beyond being a PNG: the form keeps its choice.
    expect({ ...again.recipe }).toEqual(original.recipe);
  });

  it('fills the form from a PNG written by A1111, LoRA tag and hash included', async () => {
    await scramble();
    const sha = createHash('sha256').update(readFileSync(fixtureLora)).digest('hex');
    const text = [
      'a castle on a hill, <lora:anime-style:0.6>, golden hour',
      'Negative prompt: blurry, lowres',
      `Steps: 6, Sampler: Euler a, Schedule type: Automatic, CFG scale: 3.5, Seed: 1234, Size: 768x768, Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Lora hashes: "anime-style: ${sha.slice(0, 12)}", Version: v1.10.1`,
    ].join('\n');
    const png = addPngText(await sharp({ create: { width: 8, height: 8, channels: 3, background: '#335' } }).png().toBuffer(), 'parameters', text);
    await dropFiles(page, '.app', [{ name: '00012-1234.png', bytes: new Uint8Array(png) }]);
    await page.getByText('Filled the form from the recipe in 00012-1234.png.').waitFor();
    await page.getByText('The model sd_xl_base_1.0 of this recipe is not installed; the form keeps the current model.').waitFor();
    expect(await prompt().inputValue()).toBe('a castle on a hill, golden hour');
    expect(await page.getByRole('textbox', { name: 'Negative prompt' }).inputValue()).toBe('blurry, lowres');
    expect(await page.getByRole('spinbutton', { name: 'Guidance' }).inputValue()).toBe('3.5');
    expect(await page.getByRole('textbox', { name: 'Seed' }).inputValue()).toBe('1234');
    expect(await page.getByRole('combobox', { name: 'Size' }).inputValue()).toBe('768x768');
    expect(await page.getByRole('spinbutton', { name: 'Steps' }).inputValue()).toBe('6');
    expect(await page.getByRole('combobox', { name: 'Style', exact: true }).locator('option:checked').innerText()).toBe('anime-style');
    expect(await page.getByRole('slider', { name: 'Style strength' }).inputValue()).toBe('0.6');
    await page.screenshot({ path: join(screenshotsDir, 'recipe-from-a1111.png') });
  });

  it('says when an image carries no recipe, and changes nothing', async () => {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#533' } }).png().toBuffer();
    const before = await prompt().inputValue();
    await dropFiles(page, '.app', [{ name: 'holiday.png', bytes: new Uint8Array(png) }]);
    await page.getByText('holiday.png carries no recipe (no parameters text), so nothing was changed.').waitFor();
    expect(await prompt().inputValue()).toBe(before);
  });

  it('makes a preview for a style card on request, filters the gallery by style, and deletes a LoRA', async () => {
    await page.keyboard.press('Control+3');
    const card = page.getByRole('listitem', { name: 'anime-style' });
    await card.getByRole('button', { name: 'Make a preview' }).click();
    await expect.poll(() => card.locator('.card-preview img').count(), { timeout: 60_000 }).toBe(1);
    await expect.poll(() => card.locator('.card-preview img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);

    await page.keyboard.press('Control+2');
    await page.getByRole('combobox', { name: 'Style', exact: true }).selectOption({ label: 'anime-style' });
    const tiles = page.getByRole('list', { name: 'Gallery' }).getByRole('button');
    await expect.poll(() => tiles.count()).toBe(rows().filter((r) => r.recipe.loras.some((l) => l.name === 'anime-style')).length);

    await page.keyboard.press('Control+3');
    await page.getByRole('listitem', { name: 'Qwen-Image-Lightning-4steps-V1.0' }).getByRole('button', { name: 'Delete Qwen-Image-Lightning-4steps-V1.0' }).click();
    await page.getByRole('listitem', { name: 'Qwen-Image-Lightning-4steps-V1.0' }).waitFor({ state: 'detached' });
    expect(await page.locator('.cards > li').count()).toBe(2);
    await page.screenshot({ path: join(screenshotsDir, 'styles.png') });
  });

  it('refuses a LoRA of another family than the model in Create, with the reason, on its card and in the form', async () => {
    // The demo is a Qwen-Image model: the SDXL LoRA cannot be put in the form, and its card says why.
    await page.keyboard.press('Control+3');
    const xl = page.getByRole('listitem', { name: 'xl-ink' });
    await xl.getByRole('note').filter({ hasText: /^xl-ink is a LoRA for SDXL-Turbo models; it cannot be used with .+ \(Qwen-Image\)\. Remove it, or choose a model of the SDXL-Turbo family\.$/ }).waitFor();
    expect(await xl.getByRole('button', { name: 'Use in Create' }).isDisabled()).toBe(true);
    expect(await xl.getByRole('button', { name: 'Make a preview' }).isDisabled()).toBe(true);
    const anime = page.getByRole('listitem', { name: 'anime-style' });
    if ((await anime.getByRole('button', { name: 'Use in Create' }).count()) > 0) await anime.getByRole('button', { name: 'Use in Create' }).click();
    await anime.getByRole('button', { name: 'In use' }).waitFor();

    // An SDXL-Turbo folder (the tiny fixture components in the official layout), added by its path: the
    // Qwen-Image style already in the form is refused there at once, and Generate makes nothing.
    await page.keyboard.press('Control+4');
    await page.getByRole('textbox', { name: 'Model folder path' }).fill(sdxlTurboFolder(mkdtempSync(join(tmpdir(), 'studio-e2e-sdxl-'))));
    await page.getByRole('button', { name: 'Add folder' }).click();
    await page.getByText('Added tiny-sdxl-turbo: it is selected under Model.').waitFor();
    await page.keyboard.press('Control+1');
    // It came with the family's defaults, as choosing it under Model does.
    expect(await page.getByRole('combobox', { name: 'Size' }).inputValue()).toBe('512x512');
    expect(await page.getByRole('spinbutton', { name: 'Steps' }).inputValue()).toBe('1');
    await prompt().fill('an ink drawing of a heron');
    const refusal = page.getByRole('alert').filter({ hasText: 'anime-style is a LoRA for Qwen-Image models; it cannot be used with tiny-sdxl-turbo (SDXL-Turbo). Remove it, or choose a model of the Qwen-Image family.' });
    await refusal.waitFor();
    expect(await page.getByRole('combobox', { name: 'Style', exact: true }).locator('option:checked').innerText()).toBe('anime-style');
    await page.getByRole('textbox', { name: 'Seed' }).fill('5');
    const before = rows().length;
    expect(await generate().isDisabled()).toBe(true);
    await page.keyboard.press('Control+Enter');
    expect(rows().length).toBe(before);
    await page.screenshot({ path: join(screenshotsDir, 'styles-other-family.png') });

    // On the Styles view the Qwen-Image card says the same and can still be taken out; the SDXL one applies.
    await page.keyboard.press('Control+3');
    await anime.getByRole('note').filter({ hasText: /^anime-style is a LoRA for Qwen-Image models/ }).waitFor();
    await anime.getByRole('button', { name: 'In use' }).click();
    await anime.getByRole('note').filter({ hasText: /^anime-style is a LoRA for Qwen-Image models; it cannot be used with tiny-sdxl-turbo \(SDXL-Turbo\)/ }).waitFor();
    expect(await xl.getByRole('note').count()).toBe(0);
    expect(await xl.getByRole('button', { name: 'Make a preview' }).isDisabled()).toBe(false);
    await xl.getByRole('button', { name: 'Use in Create' }).click();
    await xl.getByRole('button', { name: 'In use' }).waitFor();
    await page.keyboard.press('Control+1');
    await refusal.waitFor({ state: 'detached' });
    await generate().click();
    const made = await nextRow(before);
    expect(made.recipe).toMatchObject({ prompt: 'an ink drawing of a heron', seed: 5, modelName: 'tiny-sdxl-turbo' });
    expect(made.recipe.loras.map((l) => [l.name, l.role])).toEqual([['xl-ink', 'style']]);
  });

  it('Use recipe on an image made from an input image gives back the input image and its strength', async () => {
    // The heron of the previous test (tiny SDXL-Turbo, which takes an input image) starts a new image.
    await page.keyboard.press('Control+2');
    await page.getByRole('list', { name: 'Gallery' }).getByRole('button', { name: 'Open image: an ink drawing of a heron' }).click();
    const input = rows().at(-1)!;
    await page.getByRole('dialog', { name: 'Recipe' }).getByRole('button', { name: 'Start a new image from this one' }).click();
    const strength = page.getByRole('slider', { name: 'How much to repaint' });
    await strength.fill('0.75');
    await page.getByRole('textbox', { name: 'Seed' }).fill('6');
    const before = rows().length;
    await generate().click();
    const i2i = await nextRow(before);
    expect(i2i.recipe.initImage).toMatchObject({ source: input.id, strength: 0.75 });

    // Elsewhere entirely: no input image, another prompt.
    await page.getByRole('button', { name: 'Start from noise instead' }).click();
    await prompt().fill('something else entirely');
    await page.getByRole('textbox', { name: 'Seed' }).fill('');
    await page.keyboard.press('Control+2');
    await page.getByRole('list', { name: 'Gallery' }).getByRole('button', { name: 'Open image: an ink drawing of a heron' }).first().click();
    await page.getByRole('dialog', { name: 'Recipe' }).getByText('an image of the gallery · repainted 0.75').waitFor();
    await page.getByRole('dialog', { name: 'Recipe' }).getByRole('button', { name: 'Use this recipe' }).click();
    expect(await strength.inputValue()).toBe('0.75');
    const again = await (async () => {
      const n = rows().length;
      await generate().click();
      return nextRow(n);
    })();
    expect(again.recipe).toEqual(i2i.recipe);
    expect(await pixels(again)).toBe(await pixels(i2i));

    // Its input image deleted from the history: the form says so and has no input image.
    await page.keyboard.press('Control+2');
    await page.getByRole('list', { name: 'Gallery' }).getByRole('button', { name: 'Open image: an ink drawing of a heron' }).last().click();
    await page.getByRole('dialog', { name: 'Recipe' }).getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Recipe' }).waitFor({ state: 'hidden' });
    await expect.poll(() => rows().some((r) => r.id === input.id)).toBe(false);
    await page.getByRole('list', { name: 'Gallery' }).getByRole('button', { name: 'Open image: an ink drawing of a heron' }).first().click();
    await page.getByRole('dialog', { name: 'Recipe' }).getByRole('button', { name: 'Use this recipe' }).click();
    await page.getByText('The input image of this recipe is no longer in the history, so the form has no input image.').waitFor();
    expect(await strength.count()).toBe(0);
  });
});
