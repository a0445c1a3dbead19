// Starts the real studio (`studio serve`) and Debian's Chromium for whole-app tests.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const screenshotsDir = join(repoRoot, 'test-output', 'e2e');
mkdirSync(screenshotsDir, { recursive: true });

export interface RunningStudio {
  readonly launchUrl: string;
  readonly url: string;
  readonly dataDir: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

export async function startStudio(dataDir = mkdtempSync(join(tmpdir(), 'studio-e2e-')), env: NodeJS.ProcessEnv = {}): Promise<RunningStudio> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'studio.js'), 'serve', '--port', '0'], {
    env: { ...process.env, STUDIO_DATA_DIR: dataDir, STUDIO_THREADS: '2', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const launchUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += String(d);
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`studio serve exited with ${code}: ${out}`)));
  });
  return {
    launchUrl,
    url: new URL(launchUrl).origin,
    dataDir,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Debian's Chromium, with the flags this network-less machine needs (no background connections). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A fresh page on the studio: its own locale, colour scheme and window size. */
export async function openStudio(
  browser: Browser,
  studio: RunningStudio,
  o: { locale?: string; colorScheme?: 'light' | 'dark'; width?: number; height?: number } = {},
): Promise<Page> {
  const context = await browser.newContext({ locale: o.locale ?? 'en-US', colorScheme: o.colorScheme ?? 'dark', viewport: { width: o.width ?? 1280, height: o.height ?? 800 }, acceptDownloads: true });
  const page = await context.newPage();
  page.on('pageerror', (e) => {
    throw e;
  });
  await page.goto(studio.launchUrl);
  await page.locator('.app nav').waitFor();
  // The window's key handlers are attached by effects that run after the first paint.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  return page;
}

/** Drops files on an element, as a file manager would (a real DataTransfer with File objects). */
export async function dropFiles(page: Page, selector: string, files: readonly { name: string; bytes: Uint8Array }[]): Promise<void> {
  const dataTransfer = await page.evaluateHandle((list) => {
    const dt = new DataTransfer();
    for (const f of list) dt.items.add(new File([new Uint8Array(f.bytes)], f.name));
    return dt;
  }, files.map((f) => ({ name: f.name, bytes: [...f.bytes] })));
  await page.dispatchEvent(selector, 'drop', { dataTransfer });
}

/**
 * Buttons, inputs, selects and text areas that stick out of the viewport or of the box that holds them
 * (their nearest ancestor that clips or scrolls, or their parent), or whose own text does not fit inside
 * them. Hidden elements and elements inside a scrolling container (they scroll into view) are judged
 * against that container's content box, not its visible part.
 */
export async function overflowingControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const vw = document.documentElement.clientWidth;
    const vh = document.documentElement.clientHeight;
    const describe = (el: Element) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}[${(el.getAttribute('aria-label') ?? (el as HTMLElement).innerText ?? '').slice(0, 40).replace(/\s+/g, ' ')}]`;
    for (const el of Array.from(document.querySelectorAll('button, input, select, textarea'))) {
      const h = el as HTMLElement;
      if (h.closest('.visually-hidden') || h.classList.contains('visually-hidden')) continue;
      const style = getComputedStyle(h);
      if (style.display === 'none' || style.visibility === 'hidden' || h.getClientRects().length === 0) continue;
      if (h.closest('details:not([open])') && !h.closest('summary')) continue;
      const r = h.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      // Its own text cut off (a button label wider than the button).
      if (h.tagName === 'BUTTON' && h.scrollWidth > h.clientWidth + 1) out.push(`${describe(h)}: text wider than the button (${h.scrollWidth} > ${h.clientWidth})`);
      // Outside the window, horizontally always; vertically unless a scrolling container holds it.
      let box: HTMLElement | null = h.parentElement;
      let scrolling: HTMLElement | null = null;
      while (box && box !== document.body) {
        const s = getComputedStyle(box);
        if (/(auto|scroll)/.test(s.overflowY) || /(auto|scroll)/.test(s.overflowX)) {
          scrolling = box;
          break;
        }
        if (s.overflow === 'hidden' || s.overflowX === 'hidden' || s.overflowY === 'hidden') break;
        box = box.parentElement;
      }
      if (r.left < -1 || r.right > vw + 1) out.push(`${describe(h)}: outside the window horizontally (${Math.round(r.left)}..${Math.round(r.right)} of ${vw})`);
      if (!scrolling && (r.top < -1 || r.bottom > vh + 1)) out.push(`${describe(h)}: outside the window vertically (${Math.round(r.top)}..${Math.round(r.bottom)} of ${vh})`);
      const parent = h.parentElement;
      if (parent) {
        const p = parent.getBoundingClientRect();
        const ps = getComputedStyle(parent);
        const left = p.left + parseFloat(ps.borderLeftWidth);
        const right = p.right - parseFloat(ps.borderRightWidth);
        if (r.left < left - 1 || r.right > right + 1) out.push(`${describe(h)}: wider than its container ${describe(parent)} (${Math.round(r.left)}..${Math.round(r.right)} in ${Math.round(left)}..${Math.round(right)})`);
      }
      if (scrolling) {
        const s = scrolling.getBoundingClientRect();
        if (r.left < s.left - 1 || r.right > s.right + 1) out.push(`${describe(h)}: outside its scrolling panel horizontally`);
      }
    }
    return out;
  });
}

/**
 * Every piece of visible text (text nodes, and the placeholder, value and label text people read) that has
 * no CJK character, minus what `allowed` accepts (names, units, numbers).
 */
export async function textWithoutCjk(page: Page, allowed: readonly RegExp[]): Promise<string[]> {
  const found = await page.evaluate(() => {
    const texts: string[] = [];
    const visible = (el: Element | null): boolean => {
      for (let e = el; e; e = e.parentElement) {
        const s = getComputedStyle(e);
        if (s.display === 'none' || s.visibility === 'hidden') return false;
        if (e.tagName === 'DETAILS' && !(e as HTMLDetailsElement).open && el && !e.querySelector(':scope > summary')?.contains(el)) return false;
      }
      return (el?.getClientRects().length ?? 0) > 0;
    };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const text = n.textContent?.trim() ?? '';
      if (text && visible(n.parentElement) && !n.parentElement?.closest('.visually-hidden, option')) texts.push(text);
    }
    for (const el of Array.from(document.querySelectorAll('[placeholder], [aria-label], [title], select'))) {
      if (!visible(el)) continue;
      for (const a of ['placeholder', 'aria-label', 'title']) {
        const v = el.getAttribute(a);
        if (v) texts.push(v);
      }
      if (el.tagName === 'SELECT') texts.push((el as HTMLSelectElement).selectedOptions[0]?.text ?? '');
    }
    return texts;
  });
  return [...new Set(found)].filter((s) => !/[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]/.test(s) && !allowed.some((re) => re.test(s)));
}
