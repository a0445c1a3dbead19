import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dosDateTime, ZipWriter } from './zip-writer.js';

/** Python's zipfile reads the archive, checks every CRC, and reports what it found. */
function pythonReads(file: string): { count: number; bad: string | null; first: { name: string; date: number[]; size: number }; last: string; zip64Locator: boolean } {
  const script = `
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
infos = z.infolist()
data = open(sys.argv[1], 'rb').read()
print(json.dumps({
  'count': len(infos),
  'bad': z.testzip(),
  'first': {'name': infos[0].filename, 'date': list(infos[0].date_time), 'size': infos[0].file_size},
  'last': infos[-1].filename,
  'zip64Locator': data[-42:-38] == b'PK\\x06\\x07',
}))`;
  return JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8', maxBuffer: 1 << 26 })) as ReturnType<typeof pythonReads>;
}

describe('ZipWriter', () => {
  it('writes ZIP64 records past 65,535 entries, and the archive reads back whole', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'zip64-')), 'many.zip');
    const zip = new ZipWriter(file);
    const when = new Date(2026, 2, 14, 15, 9, 26);
    const n = 70_000;
    for (let i = 0; i < n; i++) await zip.addBuffer(`img-${i}.txt`, Buffer.from(`image ${i}\n`), when);
    await zip.close();
    const read = pythonReads(file);
    expect(read).toMatchObject({ count: n, bad: null, last: `img-${n - 1}.txt`, zip64Locator: true });
    expect(read.first).toEqual({ name: 'img-0.txt', date: [2026, 3, 14, 15, 9, 26], size: 8 });
  });

  it('writes ZIP64 extra fields when asked for every entry, which readers accept as well', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zip64-forced-'));
    const source = join(dir, 'image.png');
    writeFileSync(source, Buffer.alloc(100_000, 7));
    const file = join(dir, 'forced.zip');
    const zip = new ZipWriter(file, { forceZip64: true });
    await zip.addFile('一只狐狸.png', source, new Date(2025, 11, 31, 23, 59, 58));
    await zip.addBuffer('recipes.csv', Buffer.from('file\r\n'), new Date(2025, 0, 1));
    await zip.close();
    const read = pythonReads(file);
    expect(read).toMatchObject({ count: 2, bad: null, last: 'recipes.csv', zip64Locator: true });
    expect(read.first).toEqual({ name: '一只狐狸.png', date: [2025, 12, 31, 23, 59, 58], size: 100_000 });
  });

  it('a small archive stays a classic ZIP whose entries carry a valid date', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'zip-small-')), 'small.zip');
    const zip = new ZipWriter(file);
    await zip.addBuffer('a.txt', Buffer.from('a'), new Date(2024, 6, 4, 8, 30, 0));
    await zip.close();
    const read = pythonReads(file);
    expect(read).toMatchObject({ count: 1, bad: null, zip64Locator: false });
    expect(read.first.date).toEqual([2024, 7, 4, 8, 30, 0]);
    expect(statSync(file).size).toBe(30 + 5 + 1 + 46 + 5 + 22);
  });

  it('encodes DOS dates, clamping what a DOS date cannot say', () => {
    expect(dosDateTime(new Date(1970, 0, 1))).toEqual({ date: 33, time: 0 });
    const d = dosDateTime(new Date(2000, 1, 29, 13, 14, 15));
    expect([1980 + (d.date >> 9), (d.date >> 5) & 15, d.date & 31, d.time >> 11, (d.time >> 5) & 63, (d.time & 31) * 2]).toEqual([2000, 2, 29, 13, 14, 14]);
  });
});
