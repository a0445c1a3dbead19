// `studio plan --model DIR --size WxH [--vram GB]`: the table of execution plans and the one chosen.

import { execFileSync } from 'node:child_process';
import { totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { parseSize } from '../shared/generation.js';
import { planFor, type DeviceBudget } from '../shared/vram-plan.js';
import { openModelFolder } from './model-folder.js';
import { modelSizes } from './qwen-image/model-sizes.js';

const GB = 1024 ** 3;

/** The first NVIDIA card, from nvidia-smi; undefined where there is none. */
function discoverGpu(): { name: string; vramBytes: number } | undefined {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name,memory.total', '--format=csv,noheader,nounits'], { encoding: 'utf8', timeout: 5000 });
    const [name, mib] = out.trim().split('\n')[0]!.split(',').map((s) => s.trim());
    return { name: name!, vramBytes: Number(mib) * 1024 * 1024 };
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      size: { type: 'string', default: '1024x1024' },
      vram: { type: 'string' },
      ram: { type: 'string' },
      tflops: { type: 'string', default: '150' },
      pcie: { type: 'string', default: '20' },
      batch: { type: 'string', default: '1' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  if (!values.model) {
    process.stderr.write('usage: studio plan --model DIR [--size WxH] [--vram GB] [--ram GB] [--json]\n');
    return 2;
  }
  const size = parseSize(values.size!);
  if (!size || size.width % 16 || size.height % 16) {
    process.stderr.write(`studio plan: --size must be WxH in multiples of 16, got ${values.size}\n`);
    return 2;
  }
  const gpu = discoverGpu();
  const vramBytes = values.vram ? Number(values.vram) * GB : gpu?.vramBytes;
  if (!vramBytes) {
    process.stderr.write('studio plan: no NVIDIA GPU found here; give --vram GB to plan for a card.\n');
    return 2;
  }
  const device: DeviceBudget = {
    vramBytes,
    ramBytes: values.ram ? Number(values.ram) * GB : totalmem(),
    tflops: Number(values.tflops),
    pcieGBs: Number(values.pcie),
  };
  const folder = await openModelFolder(values.model);
  const sizes = await modelSizes(folder);
  const result = planFor(sizes, size.width, size.height, Number(values.batch), device);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ device: { ...device, name: values.vram ? 'given' : gpu?.name }, ...result })}\n`);
  } else {
    process.stdout.write(`${folder.name} at ${size.width}x${size.height} on ${values.vram ? `a ${values.vram} GB card` : gpu!.name} (${(vramBytes / GB).toFixed(1)} GB):\n`);
    const rows = result.plans.map((p) => ({
      plan: p.label,
      'peak VRAM GB': (p.peakVramBytes / GB).toFixed(1),
      'peak RAM GB': (p.peakRamBytes / GB).toFixed(1),
      's/step': p.secondsPerStep.toFixed(2),
      fits: p.fits ? 'yes' : 'no',
      chosen: p === result.chosen ? '<-' : '',
    }));
    console.table(rows);
    process.stdout.write(result.chosen ? `chosen: ${result.chosen.label}\n` : `${result.advice}\n`);
  }
  return result.chosen ? 0 : 1;
}

try {
  process.exitCode = await main();
} catch (e) {
  process.stderr.write(`studio plan: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
