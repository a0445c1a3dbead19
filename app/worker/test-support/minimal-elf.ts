// Test helper: a minimal ELF64 shared object naming its dependencies, standing in for CUDA libraries
// (which cannot exist on a machine without a GPU). It loads nowhere; it only reads like one.

import { PT_DYNAMIC, PT_LOAD } from '../gpu/elf-deps.js';

export function minimalSharedObject(options: { soname?: string; needed?: readonly string[]; runpath?: readonly string[] }): Buffer {
  const names = [options.soname ?? '', ...(options.needed ?? []), (options.runpath ?? []).join(':')];
  const strtab: number[] = [0];
  const offsets = names.map((n) => {
    const at = strtab.length;
    strtab.push(...Buffer.from(n, 'utf8'), 0);
    return at;
  });
  const dynEntries: [number, number][] = [];
  if (options.soname) dynEntries.push([14, offsets[0]!]);
  (options.needed ?? []).forEach((_, i) => dynEntries.push([1, offsets[1 + i]!]));
  if (options.runpath?.length) dynEntries.push([29, offsets[offsets.length - 1]!]);
  const ehdr = 64;
  const phdrs = 2 * 56;
  const strOffset = ehdr + phdrs;
  const dynOffset = strOffset + Math.ceil(strtab.length / 8) * 8;
  dynEntries.push([5, strOffset], [10, strtab.length], [0, 0]);
  const size = dynOffset + dynEntries.length * 16;
  const b = Buffer.alloc(size);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2; // 64-bit
  b[5] = 1; // little-endian
  b[6] = 1; // version
  b.writeUInt16LE(3, 16); // ET_DYN
  b.writeUInt16LE(62, 18); // x86-64
  b.writeUInt32LE(1, 20);
  b.writeBigUInt64LE(BigInt(ehdr), 0x20); // e_phoff
  b.writeUInt16LE(ehdr, 0x34);
  b.writeUInt16LE(56, 0x36);
  b.writeUInt16LE(2, 0x38);
  const ph = (i: number, type: number, offset: number, filesz: number) => {
    const at = ehdr + i * 56;
    b.writeUInt32LE(type, at);
    b.writeBigUInt64LE(BigInt(offset), at + 8);
    b.writeBigUInt64LE(BigInt(offset), at + 16); // vaddr = offset
    b.writeBigUInt64LE(BigInt(offset), at + 24);
    b.writeBigUInt64LE(BigInt(filesz), at + 32);
    b.writeBigUInt64LE(BigInt(filesz), at + 40);
  };
  ph(0, PT_LOAD, 0, size);
  ph(1, PT_DYNAMIC, dynOffset, dynEntries.length * 16);
  Buffer.from(strtab).copy(b, strOffset);
  dynEntries.forEach(([tag, val], i) => {
    b.writeBigInt64LE(BigInt(tag), dynOffset + i * 16);
    b.writeBigUInt64LE(BigInt(val), dynOffset + i * 16 + 8);
  });
  return b;
}
