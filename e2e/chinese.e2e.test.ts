// The Chinese UI through the paths where English used to leak from main and the worker: an invalid size, an
// empty prompt, the plan table and the device line, a failed download, refused LoRA files. Any visible text
// without a Chinese character fails the test, unless it is a name, a unit or a number.
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from '../app/main/test-support/fake-hub.js';
import { encodeSafetensors } from '../app/worker/safetensors/safetensors.js';
import { dropFiles, launchChromium, openStudio, repoRoot, screenshotsDir, startStudio, textWithoutCjk, type RunningStudio } from './support.js';

/** Text that may stay as it is in a Chinese UI: names of models, files, hubs and keys, units, numbers. */
const ALLOWED: readonly RegExp[] = [
  /^[\d\s.,:;×x%+\-–—/()（）·|[\]{}]*$/, // numbers, sizes, punctuation
  /^[\d.]+\s*(GB|MB|KB|s|MB\/s)$/, // units
  /^(LoRA|JPEG \d+|PNG|CPU|GPU|VAE|Ctrl\+Enter|Ctrl\+\d|English|ModelScope|Hugging Face|Lightning|Turbo|Civitai)$/,
  /^Qwen-Image[\w .-]*$/, // model names: Qwen-Image, Qwen-Image-2512 Turbo 4-step, Qwen-Image-Lightning 8-step V2.0
  /^(SDXL|SD-|LCM)[\w .-]*$/, // model names: SDXL-Turbo, SD-Turbo, SDXL 1.0 base, LCM-LoRA SDXL
  /^[\w.-]+\.(safetensors|bin|ckpt|pt|png|jpe?g)$/, // file names
  /^(\/|[A-Z]:\\)[\w./\\-]*$/, // paths
  /^[a-z]+(-[a-z]+)*$/, // a LoRA's own name (anime-style)
];

/** A FLUX LoRA: a family the studio does not run. */
function fluxLora(): Uint8Array {
  const t = (name: string, shape: number[]) => ({ name, dtype: 'F32' as const, shape, data: new Uint8Array(shape.reduce((a, b) => a * b, 1) * 4) });
  return encodeSafetensors([t('transformer.single_transformer_blocks.0.attn.to_q.lora_A.weight', [4, 3072]), t('transformer.single_transformer_blocks.0.attn.to_q.lora_B.weight', [3072, 4])]);
}

describe('the studio in Simplified Chinese', () => {
  let hub: FakeHub;
  let studio: RunningStudio;
  let browser: Browser;
  let page: Page;
  const leaks: string[] = [];
  const check = async (where: string) => {
    for (const text of await textWithoutCjk(page, ALLOWED)) leaks.push(`${where}: ${JSON.stringify(text)}`);
  };

  beforeAll(async () => {
    // A hub that holds none of the catalog's repositories: every download fails at its listing.
    hub = await startFakeHub({});
    studio = await startStudio(undefined, { HF_ENDPOINT: hub.url, MODELSCOPE_ENDPOINT: hub.url, HF_HUB_CACHE: mkdtempSync(join(tmpdir(), 'empty-hf-cache-')) });
    browser = await launchChromium();
    page = await openStudio(browser, studio, { locale: 'zh-CN', width: 1280, height: 900 });
  });
  afterAll(async () => {
    await browser?.close();
    await studio?.stop();
    await hub?.close();
  });

  it('follows the system language from the start', async () => {
    await page.getByRole('button', { name: '创作' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
  });

  it('says what is wrong with an empty prompt and an invalid size in Chinese, next to the field', async () => {
    await page.locator('.generate-bar').getByText('提示词为空：请描述你想要的画面').waitFor();
    await page.getByRole('combobox', { name: '尺寸' }).selectOption('custom');
    await page.getByRole('spinbutton', { name: '宽度' }).fill('1000');
    await page.locator('.field-error', { hasText: '宽度必须是 16 像素的倍数' }).waitFor();
    await page.getByRole('textbox', { name: '种子' }).fill('99999999999');
    await page.locator('.field-error', { hasText: '种子最大为 4294967295' }).waitFor();
    await check('create with problems');
    await page.getByRole('spinbutton', { name: '宽度' }).fill('512');
    await page.getByRole('textbox', { name: '种子' }).fill('');
  });

  it('shows the device line and the plan table in Chinese', async () => {
    await page.getByText(/^这台电脑：CPU，\d+ 线程，\d+ GB 内存$/).waitFor();
    const summary = page.locator('.plan-summary summary');
    await summary.getByText(/^运行方式：全部组件同时加载，f32 · 峰值 [\d.]+ GB · 每步约 [\d.]+ 秒 · CPU，\d+ 线程，\d+ GB 内存$/).waitFor();
    await summary.click();
    await page.locator('.plan-summary table').getByText(/^4 位权重（MatMulNBits），逐个加载组件/).waitFor();
    await check('plan table and device line');
    await page.screenshot({ path: join(screenshotsDir, 'zh-plan.png') });
    await summary.click();
  });

  it('explains a failed download in Chinese, with what to try', async () => {
    await page.keyboard.press('Control+4');
    // ModelScope first for Chinese users.
    expect(await page.getByRole('combobox', { name: '下载源' }).inputValue()).toBe('modelscope');
    const entry = page.getByRole('listitem', { name: 'Qwen-Image-Lightning 4-step V2.0', exact: true });
    await entry.getByRole('button', { name: '下载 Qwen-Image-Lightning 4-step V2.0' }).click();
    const alert = entry.getByRole('alert');
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.innerText()).toMatch(/^Qwen-Image-Lightning 4-step V2\.0 下载失败：无法列出 lightx2v\/Qwen-Image-Lightning 的文件：ModelScope (上没有这个仓库或版本（HTTP 404）|返回了无法识别的文件列表)。/);
    await check('failed download');
  });

  it('explains refused LoRA files in Chinese', async () => {
    await page.keyboard.press('Control+3');
    await dropFiles(page, '.app', [
      { name: 'pytorch_lora_weights.bin', bytes: Uint8Array.from([0x80, 0x04, 0x95, 0, 0, 0, 0, 0]) },
      { name: 'flux-pixel-art.safetensors', bytes: fluxLora() },
      { name: 'broken.safetensors', bytes: (() => { const b = new Uint8Array(16); new DataView(b.buffer).setBigUint64(0, 7526676540175443304n, true); return b; })() },
      { name: 'anime-style.safetensors', bytes: new Uint8Array(readFileSync(join(repoRoot, 'test-fixtures', 'qwen-image', 'lora', 'lora_lightx2v_format.safetensors'))) },
    ]);
    await page.getByRole('alert').filter({ hasText: /^flux-pixel-art\.safetensors 未添加：flux-pixel-art\.safetensors 是 FLUX 的 LoRA，不适用于工作室运行的模型（.*）；未添加。$/ }).waitFor();
    await page.getByRole('alert').filter({ hasText: 'pytorch_lora_weights.bin 是 PyTorch pickle 文件' }).waitFor();
    await page.getByRole('alert').filter({ hasText: 'broken.safetensors 不是 safetensors 文件，或已损坏' }).waitFor();
    await page.getByRole('listitem', { name: 'anime-style' }).waitFor();
    await check('refused LoRAs');
    // The check sees what is on screen: without the allowlist, the names are reported.
    expect(await textWithoutCjk(page, [])).toEqual(expect.arrayContaining(['anime-style', '1.00']));
    await page.screenshot({ path: join(screenshotsDir, 'zh-styles.png') });
  });

  it('leaves no English on screen outside names, units and numbers', () => {
    expect(leaks).toEqual([]);
  });
});
