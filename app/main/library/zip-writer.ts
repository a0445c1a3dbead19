// A minimal ZIP writer (stored entries, no compression: the images are compressed already), streamed to
// disk entry by entry so an export of thousands of images never sits in memory.

import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { crc32 } from '../../shared/crc32.js';

const LIMIT = 0xffffffff;

interface Entry {
  name: Buffer;
  crc: number;
  size: number;
  offset: number;
}

export class ZipWriter {
  private readonly out: WriteStream;
  private readonly entries: Entry[] = [];
  private offset = 0;

  constructor(file: string) {
    this.out = createWriteStream(file);
  }

  private write(bytes: Uint8Array): Promise<void> {
    this.offset += bytes.length;
    return new Promise((resolve, reject) => this.out.write(bytes, (e) => (e ? reject(e) : resolve())));
  }

  private header(name: Buffer, crc: number, size: number): Buffer {
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(0x0800, 6); // UTF-8 names
    h.writeUInt16LE(0, 8); // stored
    h.writeUInt32LE(crc, 14);
    h.writeUInt32LE(size, 18);
    h.writeUInt32LE(size, 22);
    h.writeUInt16LE(name.length, 26);
    return h;
  }

  async addBuffer(name: string, data: Uint8Array): Promise<void> {
    const n = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    this.check(data.length);
    this.entries.push({ name: n, crc, size: data.length, offset: this.offset });
    await this.write(this.header(n, crc, data.length));
    await this.write(n);
    await this.write(data);
  }

  /** Reads the file twice (CRC first, then the bytes) rather than holding it: images can be large. */
  async addFile(name: string, path: string): Promise<void> {
    const { size } = await stat(path);
    this.check(size);
    let crc = 0;
    for await (const chunk of createReadStream(path)) crc = crc32(chunk as Buffer, crc);
    const n = Buffer.from(name, 'utf8');
    this.entries.push({ name: n, crc, size, offset: this.offset });
    await this.write(this.header(n, crc, size));
    await this.write(n);
    for await (const chunk of createReadStream(path)) await this.write(chunk as Buffer);
  }

  private check(size: number): void {
    if (this.offset + size > LIMIT) throw new Error('the export is larger than 4 GB, the limit of a plain ZIP file; export to a folder instead');
  }

  async close(): Promise<void> {
    const start = this.offset;
    for (const e of this.entries) {
      const c = Buffer.alloc(46);
      c.writeUInt32LE(0x02014b50, 0);
      c.writeUInt16LE(20, 4);
      c.writeUInt16LE(20, 6);
      c.writeUInt16LE(0x0800, 8);
      c.writeUInt32LE(e.crc, 16);
      c.writeUInt32LE(e.size, 20);
      c.writeUInt32LE(e.size, 24);
      c.writeUInt16LE(e.name.length, 28);
      c.writeUInt32LE(e.offset, 42);
      await this.write(c);
      await this.write(e.name);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(this.entries.length, 8);
    end.writeUInt16LE(this.entries.length, 10);
    end.writeUInt32LE(this.offset - start, 12);
    end.writeUInt32LE(start, 16);
    await this.write(end);
    await new Promise<void>((resolve, reject) => this.out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }
}
