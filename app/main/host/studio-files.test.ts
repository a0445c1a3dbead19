import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testStudio } from '../test-support/test-studio.js';
import { SignedFileUrls, studioFile, studioFileFromUrlPath } from './studio-files.js';

describe('per-file links', () => {
  it('open the one file they name until they expire', () => {
    let now = Date.UTC(2025, 0, 1, 12, 0, 0);
    const links = new SignedFileUrls(60 * 60 * 1000, 15 * 60 * 1000, () => now);
    const url = new URL(links.url('images', '2025-01-01/a b.jpg'), 'http://x');
    expect(url.pathname).toBe('/files/images/2025-01-01/a%20b.jpg');
    const [e, s] = [url.searchParams.get('e'), url.searchParams.get('s')];
    // Rounded up to the step, so a file keeps its link (and its cache entry) for a while.
    expect(Number(e) % (15 * 60 * 1000)).toBe(0);
    expect(links.url('images', '2025-01-01/a b.jpg')).toBe(url.pathname + url.search);
    expect(links.check('images', '2025-01-01/a b.jpg', e, s)).toBeUndefined();
    expect(links.check('thumbs', '2025-01-01/a b.jpg', e, s)).toBe('forged');
    expect(links.check('images', '2025-01-01/other.jpg', e, s)).toBe('forged');
    expect(links.check('images', '2025-01-01/a b.jpg', String(Number(e) + 1), s)).toBe('forged');
    expect(links.check('images', '2025-01-01/a b.jpg', e, null)).toBe('missing');
    expect(links.check('nope', '2025-01-01/a b.jpg', e, s)).toBe('forged');
    now += 75 * 60 * 1000 + 1;
    expect(links.check('images', '2025-01-01/a b.jpg', e, s)).toBe('expired');
  });

  it('made by another launch are refused', () => {
    const a = new SignedFileUrls();
    const b = new SignedFileUrls();
    const url = new URL(a.url('thumbs', 'x.webp'), 'http://x');
    expect(b.check('thumbs', 'x.webp', url.searchParams.get('e'), url.searchParams.get('s'))).toBe('forged');
  });
});

describe('studio files', () => {
  const studio = testStudio();
  afterAll(() => studio.close());

  it('resolves regular files of the known folders only', () => {
    mkdirSync(join(studio.layout.images, '2025-01-01'), { recursive: true });
    writeFileSync(join(studio.layout.images, '2025-01-01', 'x.jpg'), 'jpeg');
    const outside = join(tmpdir(), `studio-outside-${process.pid}.txt`);
    writeFileSync(outside, 'secret');
    symlinkSync(outside, join(studio.layout.images, 'link.jpg'));
    expect(studioFile(studio, 'images', '2025-01-01/x.jpg')).toBe(join(studio.layout.images, '2025-01-01', 'x.jpg'));
    expect(studioFileFromUrlPath(studio, 'images', '/2025-01-01/x.jpg')).toBeDefined();
    for (const [kind, path] of [
      ['images', '2025-01-01'],
      ['images', '2025-01-01/../2025-01-01/x.jpg'],
      ['images', '../studio.db'],
      ['images', 'link.jpg'],
      ['images', '2025-01-01/x.jpg\0'],
      ['images', '2025-01-01\\x.jpg'],
      ['database', 'studio.db'],
      ['images', ''],
    ] as const) {
      expect(studioFile(studio, kind, path), `${kind} ${path}`).toBeUndefined();
    }
    expect(studioFileFromUrlPath(studio, 'images', '/2025-01-01/%E0%A4%A')).toBeUndefined();
    expect(studioFileFromUrlPath(studio, 'images', '/2025-01-01%2fx.jpg')).toBeUndefined();
  });
});
