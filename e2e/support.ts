// Starts the real studio (`studio serve`) and Debian's Chromium for whole-app tests.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

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
