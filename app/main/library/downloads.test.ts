import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CATALOG } from '../../shared/catalog.js';
import type { DownloadState } from '../../shared/contract.js';
import { startFakeHub, type FakeHub } from '../test-support/fake-hub.js';
import { Downloads, type DownloadsOptions } from './downloads.js';
import { addressKind, checkMirrorUrl } from './mirror-url.js';

const ENTRY = 'qwen-image-lightning-4step-v1.0';
const FILE = 'Qwen-Image-Lightning-4steps-V1.0.safetensors';

/** The download's end state; a download that never ends fails the test after 10 s. */
function settled(downloads: Downloads, id: string): Promise<DownloadState> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`download ${id} never finished`)), 10_000);
    const off = downloads.onChange((s) => {
      if (s.id === id && s.status !== 'running') {
        off();
        clearTimeout(timer);
        resolve(s);
      }
    });
  });
}

describe('catalog downloads', () => {
  let hub: FakeHub;
  let unhandled: unknown[];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  beforeEach(async () => {
    hub = await startFakeHub({ 'lightx2v/Qwen-Image-Lightning': { files: { [FILE]: Buffer.from('lora bytes') }, lfs: [FILE] } });
    unhandled = [];
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(async () => {
    process.off('unhandledRejection', onUnhandled);
    await hub.close();
  });

  const make = (extra: Partial<DownloadsOptions> = {}) => {
    const modelsDir = mkdtempSync(join(tmpdir(), 'downloads-'));
    return new Downloads({ modelsDir, env: { HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(modelsDir, 'no-cache') }, onInstalled: () => Promise.resolve(), ...extra });
  };

  it('a failing onInstalled fails the download with its reason instead of an unhandled rejection', async () => {
    const downloads = make({ onInstalled: () => Promise.reject(new Error('library folder vanished')) });
    const started = await downloads.start(ENTRY, 'huggingface');
    const end = await settled(downloads, started.id);
    await new Promise((r) => setTimeout(r, 50));
    expect(unhandled).toEqual([]);
    expect(end).toMatchObject({ status: 'failed', error: { notice: { key: 'error.download.installFailed', params: { title: 'Qwen-Image-Lightning 4-step V1.0', message: 'library folder vanished' } } } });
    expect((await downloads.catalog()).items.find((i) => i.id === ENTRY)?.installed).toBe(false);
  });

  it('a marker that cannot be written fails the download, and the entry is not shown installed', async () => {
    const downloads = make();
    // A folder where the marker file should go: writing it fails with EISDIR.
    mkdirSync(join(downloads.folderFor(CATALOG.find((e) => e.id === ENTRY)!), `.studio-complete-${ENTRY}`, 'x'), { recursive: true });
    const started = await downloads.start(ENTRY, 'huggingface');
    const end = await settled(downloads, started.id);
    await new Promise((r) => setTimeout(r, 50));
    expect(unhandled).toEqual([]);
    expect(end.status).toBe('failed');
    expect(end.error?.message).toMatch(/EISDIR/);
  });

  it('installs from a mirror on this computer over http, the way the tests run', async () => {
    const downloads = make({ env: {} });
    const started = await downloads.start(ENTRY, 'mirror', hub.url);
    const end = await settled(downloads, started.id);
    expect(end.status).toBe('done');
    expect(readFileSync(join(downloads.folderFor(CATALOG.find((e) => e.id === ENTRY)!), FILE), 'utf8')).toBe('lora bytes');
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data', 'error.download.mirrorPrivate'],
    ['https://169.254.169.254/', 'error.download.mirrorPrivate'],
    ['https://[fe80::1]/', 'error.download.mirrorPrivate'],
    ['https://10.1.2.3/', 'error.download.mirrorPrivate'],
    ['https://192.168.1.1/', 'error.download.mirrorPrivate'],
    ['https://[::ffff:172.16.0.1]/', 'error.download.mirrorPrivate'],
    ['https://router.example/', 'error.download.mirrorPrivate'],
    ['http://hf-mirror.example/', 'error.download.mirrorNotHttps'],
    ['ftp://127.0.0.1/', 'error.download.mirrorNotHttps'],
    ['file:///etc/passwd', 'error.download.mirrorNotHttps'],
    ['https://user:pw@hf-mirror.example/', 'error.download.mirrorInvalid'],
  ])('refuses the mirror %s and starts nothing', async (url, key) => {
    const lookup = (host: string) => Promise.resolve(host === 'router.example' ? ['93.184.216.34', '192.168.0.1'] : ['93.184.216.34']);
    const downloads = make({ env: {}, lookup });
    await expect(downloads.start(ENTRY, 'mirror', url)).rejects.toMatchObject({ code: 'invalid-request', notice: { key } });
    expect(downloads.list()).toEqual([]);
    expect(hub.requests).toEqual([]);
  });

  it('accepts a public https mirror, and any endpoint the user configured in HF_ENDPOINT', async () => {
    const lookup = () => Promise.resolve(['93.184.216.34']);
    await expect(checkMirrorUrl('https://hf-mirror.example/', [], lookup)).resolves.toBeInstanceOf(URL);
    await expect(checkMirrorUrl('http://10.0.0.5:8080', ['http://10.0.0.5:8080/'], lookup)).resolves.toBeInstanceOf(URL);
    await expect(checkMirrorUrl('https://nowhere.invalid/', [], () => Promise.reject(new Error('ENOTFOUND nowhere.invalid')))).rejects.toMatchObject({ notice: { key: 'error.download.mirrorUnresolved' } });
    expect(['127.0.0.1', '::1', '10.0.0.1', '100.64.1.1', 'fd00::1', '8.8.8.8', '2001:4860::8888'].map(addressKind)).toEqual(['loopback', 'loopback', 'internal', 'internal', 'internal', 'public', 'public']);
  });
});
