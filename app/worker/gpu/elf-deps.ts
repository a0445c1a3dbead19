// Reads what a Linux shared library needs from its ELF dynamic section: the libraries it links (DT_NEEDED),
// where it looks for them (DT_RUNPATH / DT_RPATH) and its own name (DT_SONAME). Through the program
// headers, so stripped libraries read the same. Enough to say, before ONNX Runtime tries to load the CUDA
// provider, exactly which library would be missing.

import { open } from 'node:fs/promises';

export interface ElfDeps {
  readonly soname?: string;
  readonly needed: readonly string[];
  /** DT_RUNPATH (or the older DT_RPATH), split at ':'; `$ORIGIN` left as written. */
  readonly runpath: readonly string[];
}

export class NotElfError extends Error {}

export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
const DT = { NULL: 0n, NEEDED: 1n, STRTAB: 5n, STRSZ: 10n, SONAME: 14n, RPATH: 15n, RUNPATH: 29n } as const;

export async function readElfDeps(file: string): Promise<ElfDeps> {
  const fh = await open(file, 'r');
  try {
    const read = async (offset: number, length: number): Promise<Buffer> => {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      if (bytesRead < length) throw new NotElfError(`${file}: truncated ELF (wanted ${length} bytes at ${offset})`);
      return buf;
    };
    const ident = await read(0, 64);
    if (ident.readUInt32BE(0) !== 0x7f454c46) throw new NotElfError(`${file} is not an ELF file`);
    if (ident[4] !== 2 || ident[5] !== 1) throw new NotElfError(`${file} is not a 64-bit little-endian ELF file`);
    const phoff = Number(ident.readBigUInt64LE(0x20));
    const phentsize = ident.readUInt16LE(0x36);
    const phnum = ident.readUInt16LE(0x38);
    const headers = await read(phoff, phentsize * phnum);
    const loads: { vaddr: bigint; offset: bigint; filesz: bigint }[] = [];
    let dynamic: { offset: number; size: number } | undefined;
    for (let i = 0; i < phnum; i++) {
      const h = headers.subarray(i * phentsize, (i + 1) * phentsize);
      const type = h.readUInt32LE(0);
      const offset = h.readBigUInt64LE(8);
      const vaddr = h.readBigUInt64LE(16);
      const filesz = h.readBigUInt64LE(32);
      if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
      if (type === PT_DYNAMIC) dynamic = { offset: Number(offset), size: Number(filesz) };
    }
    if (!dynamic) return { needed: [], runpath: [] };
    const dyn = await read(dynamic.offset, dynamic.size);
    const entries: [bigint, bigint][] = [];
    for (let at = 0; at + 16 <= dyn.length; at += 16) {
      const tag = dyn.readBigInt64LE(at);
      if (tag === DT.NULL) break;
      entries.push([tag, dyn.readBigUInt64LE(at + 8)]);
    }
    const strtab = entries.find(([t]) => t === DT.STRTAB)?.[1];
    const strsz = entries.find(([t]) => t === DT.STRSZ)?.[1];
    if (strtab === undefined || strsz === undefined) return { needed: [], runpath: [] };
    // The string table's address is virtual: the loaded segment holding it gives its file offset.
    const segment = loads.find((l) => strtab >= l.vaddr && strtab < l.vaddr + l.filesz);
    const strOffset = segment ? Number(strtab - segment.vaddr + segment.offset) : Number(strtab);
    const strings = await read(strOffset, Number(strsz));
    const str = (at: bigint) => {
      const start = Number(at);
      const end = strings.indexOf(0, start);
      return strings.toString('utf8', start, end < 0 ? strings.length : end);
    };
    const needed = entries.filter(([t]) => t === DT.NEEDED).map(([, v]) => str(v));
    const run = entries.find(([t]) => t === DT.RUNPATH) ?? entries.find(([t]) => t === DT.RPATH);
    const soname = entries.find(([t]) => t === DT.SONAME);
    return { ...(soname ? { soname: str(soname[1]) } : {}), needed, runpath: run ? str(run[1]).split(':').filter(Boolean) : [] };
  } finally {
    await fh.close();
  }
}
