// Checks a built graph against the kernels a GPU provider registers (provider-kernels.ts): every node that
// runs (not folded into a constant at load) must find a kernel for its operator and element type, or it
// would run on the CPU.

import { DataType } from './onnx-model.js';
import type { GraphAnalysis, NodeAnalysis } from './graph-analysis.js';
import { KERNEL_RULES, KERNELS, type GpuProvider, type KernelType, type RuleNode } from './provider-kernels.js';

const TYPE_NAMES: Partial<Record<DataType, KernelType>> = {
  [DataType.FLOAT]: 'f32',
  [DataType.FLOAT16]: 'f16',
  [DataType.BFLOAT16]: 'bf16',
  [DataType.DOUBLE]: 'f64',
  [DataType.INT64]: 'i64',
  [DataType.INT32]: 'i32',
  [DataType.INT8]: 'i8',
  [DataType.UINT8]: 'u8',
  [DataType.BOOL]: 'bool',
};

export interface KernelProblem {
  readonly node: string;
  readonly op: string;
  readonly types: string;
  readonly reason: string;
}

/** The element types a node's kernel is chosen by: its first input's, and for Cast its output's too. */
function kernelTypes(n: NodeAnalysis): KernelType[] {
  const first = n.inputs[0];
  const types = first ? [TYPE_NAMES[first.dtype] ?? 'f32'] : [];
  if (n.node.opType === 'Cast') types.push(TYPE_NAMES[n.outputs[0]!.dtype] ?? 'f32');
  return types;
}

function ruleNode(n: NodeAnalysis): RuleNode {
  const ints: Record<string, number | undefined> = {};
  for (const [name, a] of Object.entries(n.node.attributes)) if (a.kind === 'int') ints[name] = a.value;
  return { ints, inputs: n.node.inputs.map((name, i) => (name === '' ? undefined : (n.inputs[i]?.shape ?? []))) };
}

export function unregisteredKernels(a: GraphAnalysis, provider: GpuProvider): KernelProblem[] {
  const problems: KernelProblem[] = [];
  const seen = new Set<string>();
  for (const n of a.nodes) {
    if (n.folded) continue;
    const op = `${n.node.domain ?? ''}:${n.node.opType}`;
    const types = kernelTypes(n);
    const key = `${op}|${types.join(',')}`;
    const registered = KERNELS[provider][op];
    const add = (reason: string) => {
      if (seen.has(`${key}|${reason}`)) return;
      seen.add(`${key}|${reason}`);
      problems.push({ node: n.node.name, op, types: types.join('->'), reason });
    };
    if (!registered) add(`${provider} registers no ${op} kernel`);
    else for (const t of types) if (!registered.includes(t)) add(`${provider} registers ${op} for ${registered.join(', ')}, not ${t}`);
    for (const rule of KERNEL_RULES) {
      if (rule.provider === provider && rule.op === op && !rule.holds(ruleNode(n))) add(rule.rule);
    }
  }
  return problems;
}
