// The A1111-compatible API as a user turns it on in the app: the setting starts it on the chosen port with
// the chosen credentials, says where to point other tools (in English and Chinese), and turns it off.
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshotsDir, startStudio, type RunningStudio } from './support.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('the A1111 API setting in Chromium', () => {
  let studio: RunningStudio;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    studio = await startStudio();
    browser = await launchChromium();
    page = await (await browser.newContext({ locale: 'en-US', viewport: { width: 1400, height: 1600 } })).newPage();
    await page.goto(studio.launchUrl);
    // The setting lives under Models.
    await page.getByRole('navigation').getByRole('button', { name: 'Models' }).click();
    await page.getByRole('heading', { name: 'API for other tools' }).waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await studio?.stop();
  });

  it('turns the API on with credentials, says where it is, and turns it off', async () => {
    const panel = page.getByRole('region', { name: 'API for other tools' });
    await panel.getByRole('status').filter({ hasText: 'Off.' }).waitFor();
    const port = await freePort();
    await panel.getByRole('checkbox', { name: 'Serve the AUTOMATIC1111-compatible API' }).check();
    await panel.getByRole('spinbutton', { name: 'Port' }).fill(String(port));
    await panel.getByRole('textbox', { name: 'User name' }).fill('ana');
    await panel.getByLabel('Password').fill('s3cret');
    await panel.getByRole('button', { name: 'Apply' }).click();
    await panel.getByRole('status').filter({ hasText: `Running: give http://127.0.0.1:${port} to Open WebUI, SillyTavern or webuiapi.` }).waitFor();
    await page.screenshot({ path: join(screenshotsDir, 'api-setting.png') });

    const auth = { Authorization: `Basic ${Buffer.from('ana:s3cret').toString('base64')}` };
    const models = await fetch(`http://127.0.0.1:${port}/sdapi/v1/sd-models`, { headers: auth });
    expect(models.status).toBe(200);
    expect(((await models.json()) as { model_name: string }[]).map((m) => m.model_name)).toContain('demo');
    expect((await fetch(`http://127.0.0.1:${port}/sdapi/v1/sd-models`)).status).toBe(401);

    await page.getByLabel('Language').selectOption('zh-CN');
    await page.getByRole('heading', { name: '供其他工具使用的 API' }).waitFor();
    await page.getByRole('status').filter({ hasText: `运行中：将 http://127.0.0.1:${port} 填入` }).waitFor();
    await page.getByLabel('语言').selectOption('en');

    await panel.getByRole('checkbox', { name: 'Serve the AUTOMATIC1111-compatible API' }).uncheck();
    await panel.getByRole('button', { name: 'Apply' }).click();
    await panel.getByRole('status').filter({ hasText: 'Off.' }).waitFor();
    await expect(fetch(`http://127.0.0.1:${port}/sdapi/v1/sd-models`, { headers: auth })).rejects.toThrow();
  });
});
