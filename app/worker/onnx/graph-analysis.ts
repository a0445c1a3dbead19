// What a graph the engine built does at a given size, without running it: the type and shape of every
// value, which nodes ONNX Runtime folds into constants when the session is created (casts and transposes
// of weights), the bytes of the weights as the session holds them, and the peak of live activations when
// the nodes run in order and each intermediate is freed after its last use (ONNX Runtime's allocation
// with the memory pattern off). The planner's memory terms and the provider kernel check read it.

import { DataType, type Attribute, type GraphProto, type NodeProto } from './onnx-model.js';

export interface ValueInfo {
  readonly dtype: DataType;
  readonly shape: readonly number[];
  /** Known when the graph is loaded: an initializer, or computed only from initializers (folded). */
  readonly constant: boolean;
  /** Values of int64 constants and shapes, and of small float constants (Reshape targets, Split sizes, Resize scales). */
  readonly ints?: readonly number[];
}

export interface NodeAnalysis {
  readonly node: NodeProto;
  readonly inputs: readonly (ValueInfo | undefined)[];
  readonly outputs: readonly ValueInfo[];
  /** Every input is constant: ONNX Runtime computes it once at session creation. */
  readonly folded: boolean;
}

export interface GraphAnalysis {
  readonly values: ReadonlyMap<string, ValueInfo>;
  readonly nodes: readonly NodeAnalysis[];
  readonly graph: GraphProto;
}

const BYTES: Partial<Record<DataType, number>> = {
  [DataType.FLOAT]: 4,
  [DataType.FLOAT16]: 2,
  [DataType.BFLOAT16]: 2,
  [DataType.INT64]: 8,
  [DataType.INT32]: 4,
  [DataType.UINT8]: 1,
  [DataType.INT8]: 1,
  [DataType.BOOL]: 1,
  [DataType.DOUBLE]: 8,
};

export function bytesOf(v: ValueInfo): number {
  return v.shape.reduce((a, b) => a * b, 1) * (BYTES[v.dtype] ?? 4);
}

function intAttr(node: NodeProto, name: string, fallback: number): number {
  const a = node.attributes[name];
  return a?.kind === 'int' ? a.value : fallback;
}

function intsAttr(node: NodeProto, name: string): readonly number[] | undefined {
  const a: Attribute | undefined = node.attributes[name];
  return a?.kind === 'ints' ? a.value : undefined;
}

function broadcast(shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v !== 1) d = v;
    }
    out.push(d);
  }
  return out;
}

const axis = (a: number, rank: number) => (a < 0 ? a + rank : a);

class AnalysisError extends Error {}

/** Shape and type of each output of one node, from its inputs. */
function infer(node: NodeProto, inputs: readonly (ValueInfo | undefined)[]): { dtype: DataType; shape: number[]; ints?: number[] }[] {
  const x = inputs[0];
  const need = (v: ValueInfo | undefined, what: string): ValueInfo => {
    if (!v) throw new AnalysisError(`${node.opType} ${node.name}: ${what} is unknown`);
    return v;
  };
  const a = need(x, 'input 0');
  const same = [{ dtype: a.dtype, shape: [...a.shape] }];
  switch (node.opType) {
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
    case 'Max':
    case 'Min':
    case 'Pow': {
      const shapes = inputs.filter((v): v is ValueInfo => v !== undefined).map((v) => v.shape);
      const ints = a.ints && inputs.every((v) => v?.ints) ? elementwiseInts(node.opType, inputs.map((v) => v!.ints!)) : undefined;
      return [{ dtype: a.dtype, shape: broadcast(shapes), ...(ints ? { ints } : {}) }];
    }
    case 'Where':
      return [{ dtype: need(inputs[1], 'x').dtype, shape: broadcast(inputs.map((v) => need(v, 'input').shape)) }];
    case 'Cast':
      return [{ dtype: intAttr(node, 'to', a.dtype) as DataType, shape: [...a.shape], ...(a.ints ? { ints: [...a.ints] } : {}) }];
    case 'Identity':
      return [{ dtype: a.dtype, shape: [...a.shape], ...(a.ints ? { ints: [...a.ints] } : {}) }];
    case 'Sigmoid':
    case 'Sqrt':
    case 'Reciprocal':
    case 'Neg':
    case 'Sin':
    case 'Cos':
    case 'Tanh':
    case 'Erf':
    case 'Exp':
    case 'Relu':
    case 'FastGelu':
    case 'Gelu':
    case 'QuickGelu':
    case 'Softmax':
    case 'Clip':
    case 'LayerNormalization':
    case 'SimplifiedLayerNormalization':
    case 'RotaryEmbedding':
    case 'LpNormalization':
    case 'InstanceNormalization':
      return same;
    case 'Equal':
      return [{ dtype: DataType.BOOL, shape: broadcast(inputs.map((v) => need(v, 'input').shape)) }];
    case 'ArgMax': {
      const ax = axis(intAttr(node, 'axis', 0), a.shape.length);
      const keep = intAttr(node, 'keepdims', 1) === 1;
      return [{ dtype: DataType.INT64, shape: keep ? a.shape.map((d, i) => (i === ax ? 1 : d)) : a.shape.filter((_, i) => i !== ax) }];
    }
    case 'GatherND': {
      const idx = need(inputs[1], 'indices').shape;
      const b = intAttr(node, 'batch_dims', 0);
      const last = idx[idx.length - 1]!;
      return [{ dtype: a.dtype, shape: [...idx.slice(0, -1), ...a.shape.slice(b + last)] }];
    }
    case 'Range': {
      const [start, limit, delta] = [0, 1, 2].map((i) => need(inputs[i], 'range bound').ints?.[0]);
      if (start === undefined || limit === undefined || delta === undefined) throw new AnalysisError(`Range ${node.name}: the bounds are not known`);
      return [{ dtype: a.dtype, shape: [Math.max(0, Math.ceil((limit - start) / delta))] }];
    }
    case 'Pad': {
      const pads = need(inputs[1], 'pads').ints;
      if (!pads) throw new AnalysisError(`Pad ${node.name}: the pads are not a known constant`);
      const rank = a.shape.length;
      return [{ dtype: a.dtype, shape: a.shape.map((d, i) => d + pads[i]! + pads[i + rank]!) }];
    }
    case 'MatMul': {
      const b = need(inputs[1], 'B').shape;
      const batch = broadcast([a.shape.slice(0, -2), b.slice(0, -2)]);
      return [{ dtype: a.dtype, shape: [...batch, a.shape[a.shape.length - 2]!, b[b.length - 1]!] }];
    }
    case 'FusedMatMul': {
      const b = need(inputs[1], 'B').shape;
      const n = intAttr(node, 'transB', 0) ? b[b.length - 2]! : b[b.length - 1]!;
      return [{ dtype: a.dtype, shape: [...a.shape.slice(0, -1), n] }];
    }
    case 'MatMulNBits':
      return [{ dtype: a.dtype, shape: [...a.shape.slice(0, -1), intAttr(node, 'N', 0)] }];
    case 'Gemm': {
      const b = need(inputs[1], 'B').shape;
      return [{ dtype: a.dtype, shape: [a.shape[intAttr(node, 'transA', 0) ? 1 : 0]!, intAttr(node, 'transB', 0) ? b[0]! : b[1]!] }];
    }
    case 'Gather': {
      const idx = need(inputs[1], 'indices').shape;
      const ax = axis(intAttr(node, 'axis', 0), a.shape.length);
      return [{ dtype: a.dtype, shape: [...a.shape.slice(0, ax), ...idx, ...a.shape.slice(ax + 1)] }];
    }
    case 'Shape': {
      const rank = a.shape.length;
      const start = axis(intAttr(node, 'start', 0), rank);
      const end = node.attributes.end ? axis(intAttr(node, 'end', rank), rank) : rank;
      const ints = a.shape.slice(start, end);
      return [{ dtype: DataType.INT64, shape: [ints.length], ints }];
    }
    case 'Concat': {
      const ax = axis(intAttr(node, 'axis', 0), a.shape.length);
      const parts = inputs.map((v) => need(v, 'input'));
      const shape = [...a.shape];
      shape[ax] = parts.reduce((s, v) => s + v.shape[ax]!, 0);
      const ints = a.dtype === DataType.INT64 && parts.every((v) => v.ints) ? parts.flatMap((v) => [...v.ints!]) : undefined;
      return [{ dtype: a.dtype, shape, ...(ints ? { ints } : {}) }];
    }
    case 'Split': {
      const ax = axis(intAttr(node, 'axis', 0), a.shape.length);
      const count = node.outputs.length;
      const sizes = inputs[1]?.ints ?? Array.from({ length: count }, () => Math.ceil(a.shape[ax]! / count));
      return sizes.map((d) => {
        const shape = [...a.shape];
        shape[ax] = d;
        return { dtype: a.dtype, shape };
      });
    }
    case 'Reshape': {
      const target = need(inputs[1], 'shape').ints;
      if (!target) throw new AnalysisError(`Reshape ${node.name}: the shape is not a known constant`);
      const total = a.shape.reduce((p, d) => p * d, 1);
      const shape = target.map((d, i) => (d === 0 ? a.shape[i]! : d));
      const known = shape.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
      return [{ dtype: a.dtype, shape: shape.map((d) => (d === -1 ? total / known : d)), ...(a.ints ? { ints: [...a.ints] } : {}) }];
    }
    case 'Transpose': {
      const perm = intsAttr(node, 'perm') ?? a.shape.map((_, i) => a.shape.length - 1 - i);
      return [{ dtype: a.dtype, shape: perm.map((p) => a.shape[p]!) }];
    }
    case 'Unsqueeze': {
      const axes = need(inputs[1], 'axes').ints ?? [];
      const rank = a.shape.length + axes.length;
      const norm = axes.map((v) => axis(v, rank));
      const shape: number[] = [];
      let j = 0;
      for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : a.shape[j++]!);
      return [{ dtype: a.dtype, shape }];
    }
    case 'Squeeze': {
      const axes = (inputs[1]?.ints ?? a.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((v) => axis(v, a.shape.length));
      return [{ dtype: a.dtype, shape: a.shape.filter((_, i) => !axes.includes(i)), ...(a.ints ? { ints: [...a.ints] } : {}) }];
    }
    case 'Slice': {
      const starts = need(inputs[1], 'starts').ints ?? [];
      const ends = need(inputs[2], 'ends').ints ?? [];
      const axes = inputs[3]?.ints ?? starts.map((_, i) => i);
      const shape = [...a.shape];
      const bounds = (ax: number, i: number): [number, number] => {
        const dim = a.shape[ax]!;
        const clamp = (v: number) => Math.max(0, Math.min(dim, v < 0 ? v + dim : v));
        return [clamp(starts[i]!), clamp(ends[i]!)];
      };
      axes.forEach((ax0, i) => {
        const [from, to] = bounds(axis(ax0, a.shape.length), i);
        shape[axis(ax0, a.shape.length)] = Math.max(0, to - from);
      });
      // A slice of a known 1-D int64 value (a Shape's) is known too; the graphs slice shapes with unit steps.
      const ints = a.ints && a.shape.length === 1 && axes.length === 1 && !inputs[4] ? a.ints.slice(...bounds(0, 0)) : undefined;
      return [{ dtype: a.dtype, shape, ...(ints ? { ints } : {}) }];
    }
    case 'Expand':
      return [{ dtype: a.dtype, shape: broadcast([a.shape, need(inputs[1], 'shape').ints ?? []]) }];
    case 'ReduceSum':
    case 'ReduceMean':
    case 'ReduceL2':
    case 'ReduceSumSquare':
    case 'ReduceMax': {
      const axes = (inputs[1]?.ints ?? a.shape.map((_, i) => i)).map((v) => axis(v, a.shape.length));
      const keep = intAttr(node, 'keepdims', 1) === 1;
      const shape = keep ? a.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : a.shape.filter((_, i) => !axes.includes(i));
      return [{ dtype: a.dtype, shape }];
    }
    case 'Conv': {
      const w = need(inputs[1], 'W').shape;
      const pads = intsAttr(node, 'pads') ?? [0, 0, 0, 0];
      const strides = intsAttr(node, 'strides') ?? [1, 1];
      const spatial = [0, 1].map((i) => Math.floor((a.shape[2 + i]! + pads[i]! + pads[i + 2]! - w[2 + i]!) / strides[i]!) + 1);
      return [{ dtype: a.dtype, shape: [a.shape[0]!, w[0]!, ...spatial] }];
    }
    case 'Resize': {
      // Output sizes (input 3) when given, else the scales (input 2).
      const sizes = inputs[3]?.ints;
      if (sizes) return [{ dtype: a.dtype, shape: [...sizes] }];
      const values = inputs[2]?.ints;
      if (!values) throw new AnalysisError(`Resize ${node.name}: neither the sizes nor the scales are known`);
      return [{ dtype: a.dtype, shape: a.shape.map((d, i) => Math.floor(d * values[i]!)) }];
    }
    case 'MultiHeadAttention': {
      const v = need(inputs[2], 'value').shape;
      return [{ dtype: a.dtype, shape: [a.shape[0]!, a.shape[1]!, v[2]!] }];
    }
    default:
      throw new AnalysisError(`graph analysis: no shape rule for ${node.domain ? `${node.domain}.` : ''}${node.opType}`);
  }
}

function elementwiseInts(op: string, values: readonly (readonly number[])[]): number[] | undefined {
  const n = Math.max(...values.map((v) => v.length));
  const at = (v: readonly number[], i: number) => v[v.length === 1 ? 0 : i]!;
  const f: Record<string, (x: number, y: number) => number> = { Add: (x, y) => x + y, Sub: (x, y) => x - y, Mul: (x, y) => x * y, Div: (x, y) => Math.trunc(x / y) };
  const g = f[op];
  return g ? Array.from({ length: n }, (_, i) => values.slice(1).reduce((acc, v) => g(acc, at(v, i)), at(values[0]!, i))) : undefined;
}

/**
 * Types and shapes of every value for concrete input shapes (dims of graph inputs by name). Float
 * constants made with constFloat keep their values for Resize scales; int64 constants keep theirs.
 */
export function analyzeGraph(graph: GraphProto, inputShapes: Readonly<Record<string, readonly number[]>>): GraphAnalysis {
  const values = new Map<string, ValueInfo>();
  for (const t of graph.initializers) {
    let ints: number[] | undefined;
    if (t.raw && t.dataType === DataType.INT64) ints = Array.from(new BigInt64Array(t.raw.buffer.slice(t.raw.byteOffset, t.raw.byteOffset + t.raw.byteLength)), Number);
    else if (t.raw && t.dataType === DataType.FLOAT && t.raw.byteLength <= 64) ints = Array.from(new Float32Array(t.raw.buffer.slice(t.raw.byteOffset, t.raw.byteOffset + t.raw.byteLength)));
    values.set(t.name, { dtype: t.dataType, shape: [...t.dims], constant: true, ...(ints ? { ints } : {}) });
  }
  for (const i of graph.inputs) {
    // Inputs with fixed dims (style-slot matrices, strengths) need no shape from the caller.
    const fixed = i.dims.every((d): d is number => typeof d === 'number') ? (i.dims as number[]) : undefined;
    const shape = inputShapes[i.name] ?? fixed;
    if (!shape) throw new AnalysisError(`graph analysis: no shape given for input ${i.name}`);
    if (shape.length !== i.dims.length) throw new AnalysisError(`graph analysis: input ${i.name} has rank ${i.dims.length}, given [${shape.join(', ')}]`);
    values.set(i.name, { dtype: i.dataType, shape: [...shape], constant: false });
  }
  const nodes: NodeAnalysis[] = [];
  for (const node of graph.nodes) {
    const inputs = node.inputs.map((n) => (n === '' ? undefined : values.get(n)));
    node.inputs.forEach((n, i) => {
      if (n !== '' && !inputs[i]) throw new AnalysisError(`graph analysis: ${node.opType} ${node.name} reads ${n} before it is made`);
    });
    const folded = node.opType !== 'Shape' && inputs.every((v) => v === undefined || v.constant);
    const inferred = infer(node, inputs);
    // Shape's values are known here (the analysis has concrete sizes) but not to ONNX Runtime: it runs.
    const outputs = node.outputs.map((_, i) => ({ ...inferred[i]!, constant: folded }));
    node.outputs.forEach((name, i) => values.set(name, outputs[i]!));
    nodes.push({ node, inputs, outputs, folded });
  }
  return { values, nodes, graph };
}

export interface MemoryEstimate {
  /** Weights as the session holds them: external data as stored, plus every folded constant (converted copies), once each. */
  readonly weightBytes: number;
  /** Of weightBytes, what stays memory-mapped from the weight files (used as stored, no copy). */
  readonly mappedBytes: number;
  /** The most bytes of graph inputs and intermediates alive at once, running the nodes in order. */
  readonly peakActivationBytes: number;
  /** The largest single attention score buffer an unfused kernel would hold (0 when none is needed). */
  readonly attentionWorkspaceBytes: number;
}

/**
 * Memory of a graph at the analysed size. `unfusedAttention` says which MultiHeadAttention nodes the
 * provider runs without a fused kernel (they hold [B, heads, S, T] scores in float32).
 */
export function estimateMemory(a: GraphAnalysis, unfusedAttention: (n: NodeAnalysis) => boolean = () => false): MemoryEstimate {
  // Weights: constants consumed by a node that is not itself folded (what the session keeps).
  const external = new Set(a.graph.initializers.filter((t) => t.external).map((t) => t.name));
  const kept = new Set<string>();
  for (const n of a.nodes) if (!n.folded) n.node.inputs.forEach((name, i) => name && n.inputs[i]?.constant && kept.add(name));
  let weightBytes = 0;
  let mappedBytes = 0;
  for (const name of kept) {
    const v = a.values.get(name)!;
    weightBytes += bytesOf(v);
    if (external.has(name)) mappedBytes += bytesOf(v);
  }
  // Activations: graph inputs and outputs of running nodes, each freed after its last reader.
  const lastUse = new Map<string, number>();
  a.nodes.forEach((n, i) => n.node.inputs.forEach((name) => name && lastUse.set(name, i)));
  for (const o of a.graph.outputs) lastUse.set(o.name, a.nodes.length);
  let live = 0;
  let peak = 0;
  let attention = 0;
  const alive = new Map<string, number>();
  for (const i of a.graph.inputs) {
    const b = bytesOf(a.values.get(i.name)!);
    alive.set(i.name, b);
    live += b;
  }
  peak = live;
  a.nodes.forEach((n, idx) => {
    if (n.folded) return;
    let produced = 0;
    n.node.outputs.forEach((name, k) => {
      const b = bytesOf(n.outputs[k]!);
      alive.set(name, b);
      produced += b;
    });
    let scratch = 0;
    if (n.node.opType === 'MultiHeadAttention' && unfusedAttention(n)) {
      const q = n.inputs[0]!.shape;
      const k = n.inputs[1]!.shape;
      const heads = intAttr(n.node, 'num_heads', 1);
      scratch = q[0]! * heads * q[1]! * k[1]! * 4;
      attention = Math.max(attention, scratch);
    }
    live += produced;
    peak = Math.max(peak, live + scratch);
    for (const name of new Set(n.node.inputs)) {
      if (name && alive.has(name) && lastUse.get(name) === idx) {
        live -= alive.get(name)!;
        alive.delete(name);
      }
    }
  });
  return { weightBytes, mappedBytes, peakActivationBytes: peak, attentionWorkspaceBytes: attention };
}
