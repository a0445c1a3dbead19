import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { DataType } from './onnx/onnx-model.js';
import { GraphBuilder } from './onnx/graph-builder.js';
import { createSession, floatTensor, outputFloats, providersFromEnv, run, type Provider } from './ort.js';

function negGraph(): Uint8Array {
  const g = new GraphBuilder('neg');
  g.output(g.op('Neg', [g.input('x', DataType.FLOAT, [2])]), 'y', DataType.FLOAT, [2]);
  return g.encode();
}

/**
 * A provider onnxruntime-node cannot have on this platform, whatever the machine: DirectML exists only on
 * Windows, and the Windows package has no CUDA provider. (These tests used CUDA and passed only because
 * this machine lacks CUDA; on a working CUDA machine they failed.)
 */
const ABSENT: Provider = process.platform === 'win32' ? 'cuda' : 'dml';

describe('execution providers', () => {
  it('falls back to the next provider when one cannot load, and says why', async () => {
    let used: Provider | undefined;
    let skipped: readonly { provider: Provider; reason: string }[] = [];
    const session = await createSession(negGraph(), {
      externalDataFolder: tmpdir(),
      intraOpThreads: 1,
      providers: [ABSENT, 'cpu'],
      onProvider: (p, s) => {
        used = p;
        skipped = s;
      },
    });
    expect(used).toBe('cpu');
    expect(skipped.map((s) => s.provider)).toEqual([ABSENT]);
    expect(skipped[0]!.reason.length).toBeGreaterThan(0);
    const out = await run(session, 'neg', { x: await floatTensor(Float32Array.of(1, -2), [2]) });
    expect([...outputFloats(out, 'y')]).toEqual([-1, 2]);
    await session.release();
  });

  it('gives one clear error when no provider loads', async () => {
    await expect(createSession(negGraph(), { externalDataFolder: tmpdir(), intraOpThreads: 1, providers: [ABSENT] })).rejects.toThrow(
      new RegExp(`no execution provider could run the model: ${ABSENT}: .+`),
    );
  });

  it('reads the provider order from STUDIO_PROVIDERS', () => {
    expect(providersFromEnv(undefined)).toEqual(['cpu']);
    expect(providersFromEnv('CUDA, cpu')).toEqual(['cuda', 'cpu']);
    expect(() => providersFromEnv('tpu')).toThrow(/unknown providers: tpu/);
  });
});
