// A minimal ZIP writer (stored entries, no compression: the images are compressed already), streamed to
// disk entry by entry so an export of thousands of images never sits in memory. ZIP64 records are
// written where the classic fields overflow: more than 65,535 entries (an export of 32,768 images with
// their sidecars), or sizes and offsets past 4 GB. Every entry carries its modification time.

import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { crc32 } from '../../shared/crc32.js';

/** The largest value of a 32-bit field; the value itself means "see the ZIP64 record". */
const MAX32 = 0xffffffff;
const MAX16 = 0xffff;
/** Files up to this size (every image) are read once, into memory. */
const IN_MEMORY_BYTES = 32 * 1024 * 1024;

interface Entry {
  name: Buffer;
  crc: number;
  size: number;
  offset: number;
  time: number;
  date: number;
}

export interface ZipWriterOptions {
  /** Write ZIP64 records for every entry even when the classic fields would do (as `zip -fz` does). */
  readonly forceZip64?: boolean;
}

/**
 * MS-DOS date and time of a moment, in local time as ZIP tools read it; 1980-01-01 is the earliest
 * a DOS date can say, so anything before is written as that.
 */
export function dosDateTime(when: Date): { date: number; time: number } {
  if (when.getFullYear() < 1980) return { date: (1 << 5) | 1, time: 0 };
  const year = Math.min(when.getFullYear(), 2107);
  return {
    date: ((year - 1980) << 9) | ((when.getMonth() + 1) << 5) | when.getDate(),
    time: (when.getHours() << 11) | (when.getMinutes() << 5) | (when.getSeconds() >> 1),
  };
}

export class ZipWriter {
  private readonly out: WriteStream;
  private readonly entries: Entry[] = [];
  private offset = 0;
  private failure: Error | undefined;

  constructor(
    file: string,
    private readonly options: ZipWriterOptions = {},
  ) {
    this.out = createWriteStream(file);
    // A write error (a full disk) is reported by the next write or close, not as an unhandled 'error'.
    this.out.on('error', (e) => (this.failure ??= e));
  }

  private write(bytes: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.offset += bytes.length;
    // Wait for 'drain' rather than for each write's callback: a stream buffers 16 KB before it pushes back.
    if (this.out.write(bytes)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => {
        this.out.off('drain', onDrain);
        reject(e);
      };
      const onDrain = () => {
        this.out.off('error', onError);
        resolve();
      };
      this.out.once('drain', onDrain);
      this.out.once('error', onError);
    });
  }

  private needsZip64(size: number, offset: number): boolean {
    return this.options.forceZip64 === true || size >= MAX32 || offset >= MAX32;
  }

  /** The local header: its fixed part, the name, then the ZIP64 extra field if any. */
  private localHeader(e: Entry): Buffer {
    const zip64 = this.needsZip64(e.size, 0);
    const h = Buffer.alloc(30 + e.name.length + (zip64 ? 20 : 0));
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(zip64 ? 45 : 20, 4);
    h.writeUInt16LE(0x0800, 6); // UTF-8 names
    h.writeUInt16LE(0, 8); // stored
    h.writeUInt16LE(e.time, 10);
    h.writeUInt16LE(e.date, 12);
    h.writeUInt32LE(e.crc, 14);
    h.writeUInt32LE(zip64 ? MAX32 : e.size, 18);
    h.writeUInt32LE(zip64 ? MAX32 : e.size, 22);
    h.writeUInt16LE(e.name.length, 26);
    h.writeUInt16LE(zip64 ? 20 : 0, 28);
    e.name.copy(h, 30);
    if (zip64) {
      // The local ZIP64 extra holds both sizes, always.
      const at = 30 + e.name.length;
      h.writeUInt16LE(0x0001, at);
      h.writeUInt16LE(16, at + 2);
      h.writeBigUInt64LE(BigInt(e.size), at + 4);
      h.writeBigUInt64LE(BigInt(e.size), at + 12);
    }
    return h;
  }

  private async addEntry(name: string, crc: number, size: number, when: Date, body: () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
    const { date, time } = dosDateTime(when);
    const entry: Entry = { name: Buffer.from(name, 'utf8'), crc, size, offset: this.offset, time, date };
    await this.write(this.localHeader(entry));
    let written = 0;
    for await (const chunk of body()) {
      written += chunk.length;
      await this.write(chunk);
    }
    if (written !== size) throw new Error(`${name} changed while it was being exported (${size} bytes expected, ${written} read)`);
    this.entries.push(entry);
  }

  async addBuffer(name: string, data: Uint8Array, when = new Date()): Promise<void> {
    await this.addEntry(name, crc32(data), data.length, when, () => [data]);
  }

  /**
   * Adds a file: an image-sized one read once into memory, a larger one read twice (CRC first, then the
   * bytes) rather than held. Nothing is written before the file has been read, so a missing file leaves
   * the archive as it was.
   */
  async addFile(name: string, path: string, when?: Date): Promise<void> {
    const info = await stat(path);
    if (info.size <= IN_MEMORY_BYTES) {
      const data = await readFile(path);
      await this.addEntry(name, crc32(data), data.length, when ?? info.mtime, () => [data]);
      return;
    }
    let crc = 0;
    for await (const chunk of createReadStream(path)) crc = crc32(chunk as Buffer, crc);
    await this.addEntry(name, crc, info.size, when ?? info.mtime, () => createReadStream(path) as AsyncIterable<Buffer>);
  }

  async close(): Promise<void> {
    const start = this.offset;
    for (const e of this.entries) {
      const zip64 = this.needsZip64(e.size, e.offset);
      // The central ZIP64 extra holds only the fields whose classic slot says 0xFFFFFFFF, in this order.
      const sizes = this.options.forceZip64 === true || e.size >= MAX32;
      const far = this.options.forceZip64 === true || e.offset >= MAX32;
      const extra = zip64 ? Buffer.alloc(4 + (sizes ? 16 : 0) + (far ? 8 : 0)) : Buffer.alloc(0);
      if (zip64) {
        extra.writeUInt16LE(0x0001, 0);
        extra.writeUInt16LE(extra.length - 4, 2);
        let at = 4;
        if (sizes) {
          extra.writeBigUInt64LE(BigInt(e.size), at);
          extra.writeBigUInt64LE(BigInt(e.size), at + 8);
          at += 16;
        }
        if (far) extra.writeBigUInt64LE(BigInt(e.offset), at);
      }
      const c = Buffer.alloc(46);
      c.writeUInt32LE(0x02014b50, 0);
      c.writeUInt16LE(zip64 ? 45 : 20, 4); // made by (MS-DOS attributes)
      c.writeUInt16LE(zip64 ? 45 : 20, 6); // needed to extract
      c.writeUInt16LE(0x0800, 8);
      c.writeUInt16LE(e.time, 12);
      c.writeUInt16LE(e.date, 14);
      c.writeUInt32LE(e.crc, 16);
      c.writeUInt32LE(sizes ? MAX32 : e.size, 20);
      c.writeUInt32LE(sizes ? MAX32 : e.size, 24);
      c.writeUInt16LE(e.name.length, 28);
      c.writeUInt16LE(extra.length, 30);
      c.writeUInt32LE(far ? MAX32 : e.offset, 42);
      await this.write(c);
      await this.write(e.name);
      if (extra.length > 0) await this.write(extra);
    }
    const size = this.offset - start;
    const count = this.entries.length;
    if (this.options.forceZip64 === true || count >= MAX16 || size >= MAX32 || start >= MAX32) {
      const record = Buffer.alloc(56);
      const recordOffset = this.offset;
      record.writeUInt32LE(0x06064b50, 0);
      record.writeBigUInt64LE(44n, 4); // size of the rest of this record
      record.writeUInt16LE(45, 12);
      record.writeUInt16LE(45, 14);
      record.writeBigUInt64LE(BigInt(count), 24);
      record.writeBigUInt64LE(BigInt(count), 32);
      record.writeBigUInt64LE(BigInt(size), 40);
      record.writeBigUInt64LE(BigInt(start), 48);
      await this.write(record);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(0x07064b50, 0);
      locator.writeBigUInt64LE(BigInt(recordOffset), 8);
      locator.writeUInt32LE(1, 16); // one disk
      await this.write(locator);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(Math.min(count, MAX16), 8);
    end.writeUInt16LE(Math.min(count, MAX16), 10);
    end.writeUInt32LE(Math.min(size, MAX32), 12);
    end.writeUInt32LE(Math.min(start, MAX32), 16);
    await this.write(end);
    await this.finish();
  }

  /** Ends the file; a write error met on the way is thrown here. */
  private async finish(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      if (this.out.closed) return this.failure ? reject(this.failure) : resolve();
      this.out.end((e?: Error | null) => {
        const failure = e ?? this.failure;
        if (failure) reject(failure);
        else resolve();
      });
    });
  }

  /** Stops writing and closes the file without a directory (the caller removes it). */
  async abort(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (this.out.closed) return resolve();
      this.out.once('close', () => resolve());
      this.out.destroy();
    });
  }
}
