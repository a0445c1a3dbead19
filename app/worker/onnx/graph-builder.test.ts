import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSession, floatTensor, outputFloats, run } from '../ort.js';
import { readSafetensorsHeader, encodeSafetensors } from '../safetensors/safetensors.js';
import { DataType } from './onnx-model.js';
import { GraphBuilder, attr } from './graph-builder.js';

describe('GraphBuilder', () => {
  it('runs a graph whose weights stay in a safetensors file (external data at an odd offset)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'graph-'));
    const w = Float32Array.from([1, 2, 3, 4, 5, 6]); // [in 2, out 3]
    const b = Float32Array.from([0.5, -0.5, 0.25]);
    const st = encodeSafetensors([
      { name: 'pad', dtype: 'U8', shape: [3], data: Uint8Array.of(9, 9, 9) }, // pushes w to an odd offset
      { name: 'w', dtype: 'F32', shape: [2, 3], data: new Uint8Array(w.buffer) },
      { name: 'b', dtype: 'F32', shape: [3], data: new Uint8Array(b.buffer) },
    ]);
    writeFileSync(join(dir, 'weights.safetensors'), st);
    const header = await readSafetensorsHeader(join(dir, 'weights.safetensors'));
    expect(header.tensors.get('w')!.offset % 2).toBe(1);

    const g = new GraphBuilder('linear');
    const x = g.input('x', DataType.FLOAT, ['batch', 2]);
    const ext = (name: string) => {
      const t = header.tensors.get(name)!;
      return g.external(name, DataType.FLOAT, t.shape, { location: 'weights.safetensors', offset: t.offset, length: t.byteLength });
    };
    const y = g.op('Relu', [g.linear(x, ext('w'), ext('b'))]);
    const s = g.op('Softmax', [y], { axis: attr.int(-1) });
    g.output(y, 'y', DataType.FLOAT, ['batch', 3]);
    g.output(s, 's', DataType.FLOAT, ['batch', 3]);

    const session = await createSession(g.encode(), { externalDataFolder: dir, intraOpThreads: 1 });
    const out = await run(session, 'linear', { x: await floatTensor(Float32Array.from([1, -1, 2, 0.5]), [2, 2]) });
    // Row 1: [1-4+0.5, 2-5-0.5, 3-6+0.25] -> relu; row 2: [2+2+0.5, 4+2.5-0.5, 6+3+0.25].
    expect([...outputFloats(out, 'y')]).toEqual([0, 0, 0, 4.5, 6, 9.25]);
    const soft = outputFloats(out, 's');
    expect(soft[3]! + soft[4]! + soft[5]!).toBeCloseTo(1, 6);
    await session.release();
  });

  it('says which inputs are missing instead of failing inside the runtime', async () => {
    const g = new GraphBuilder('id');
    g.output(g.op('Neg', [g.input('a', DataType.FLOAT, [1])]), 'out', DataType.FLOAT, [1]);
    const session = await createSession(g.encode(), { externalDataFolder: tmpdir(), intraOpThreads: 1 });
    await expect(run(session, 'neg', { b: await floatTensor(Float32Array.of(1), [1]) })).rejects.toThrow(/neg: inputs \[b\] do not match the graph's \[a\]/);
    await session.release();
  });
});
