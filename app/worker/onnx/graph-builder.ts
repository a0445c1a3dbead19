// Builds ONNX graphs op by op in TypeScript; the building block every architecture is composed from.

import {
  DataType,
  encodeModel,
  type Attribute,
  type Dim,
  type ExternalData,
  type GraphProto,
  type NodeProto,
  type TensorProto,
  type ValueInfo,
} from './onnx-model.js';

export const attr = {
  int: (value: number): Attribute => ({ kind: 'int', value }),
  float: (value: number): Attribute => ({ kind: 'float', value }),
  string: (value: string): Attribute => ({ kind: 'string', value }),
  ints: (value: readonly number[]): Attribute => ({ kind: 'ints', value }),
  floats: (value: readonly number[]): Attribute => ({ kind: 'floats', value }),
};

export interface OpOptions {
  readonly name?: string;
  readonly domain?: string;
}

export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  private fresh(base: string): string {
    let candidate = base;
    while (this.names.has(candidate)) candidate = `${base}_${++this.counter}`;
    this.names.add(candidate);
    return candidate;
  }

  input(name: string, dataType: DataType, dims: readonly Dim[]): string {
    if (this.names.has(name)) throw new Error(`graph ${this.name}: duplicate value name ${name}`);
    this.names.add(name);
    this.inputs.push({ name, dataType, dims });
    return name;
  }

  /** Exposes `value` as a graph output called `name` (an Identity keeps internal names free). */
  output(value: string, name: string, dataType: DataType, dims: readonly Dim[]): void {
    this.names.add(name);
    this.nodes.push({ name: `${name}_out`, opType: 'Identity', inputs: [value], outputs: [name], attributes: {} });
    this.outputs.push({ name, dataType, dims });
  }

  /** A weight whose bytes stay in a file ONNX Runtime memory-maps. */
  external(name: string, dataType: DataType, dims: readonly number[], data: ExternalData): string {
    const n = this.fresh(name);
    this.initializers.push({ name: n, dataType, dims, external: data });
    return n;
  }

  constFloat(name: string, values: readonly number[] | Float32Array, dims: readonly number[]): string {
    const n = this.fresh(name);
    const data = Float32Array.from(values);
    this.initializers.push({ name: n, dataType: DataType.FLOAT, dims, raw: new Uint8Array(data.buffer) });
    return n;
  }

  constUint8(name: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const n = this.fresh(name);
    this.initializers.push({ name: n, dataType: DataType.UINT8, dims, raw: Uint8Array.from(values) });
    return n;
  }

  constInt64(name: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const n = this.fresh(name);
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name: n, dataType: DataType.INT64, dims, raw: new Uint8Array(data.buffer) });
    return n;
  }

  /** Adds one node and returns its first output's name. */
  op(opType: string, inputs: readonly string[], attributes: Readonly<Record<string, Attribute>> = {}, options: OpOptions = {}): string {
    const [first] = this.opN(opType, inputs, 1, attributes, options);
    return first as string;
  }

  opN(
    opType: string,
    inputs: readonly string[],
    outputCount: number,
    attributes: Readonly<Record<string, Attribute>> = {},
    options: OpOptions = {},
  ): string[] {
    const base = options.name ?? opType.toLowerCase();
    const nodeName = this.fresh(base);
    const outputs = Array.from({ length: outputCount }, (_, i) => this.fresh(outputCount === 1 ? `${nodeName}_out` : `${nodeName}_out${i}`));
    this.nodes.push({ name: nodeName, opType, inputs, outputs, attributes, ...(options.domain ? { domain: options.domain } : {}) });
    return outputs;
  }

  // Common compositions.

  /** x @ W + b with W stored [in, out]. */
  linear(x: string, weight: string, bias?: string): string {
    const y = this.op('MatMul', [x, weight]);
    return bias ? this.op('Add', [y, bias]) : y;
  }

  /** The graph as data: what encode writes, and what graph-analysis reads. */
  graph(): GraphProto {
    return { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs };
  }

  encode(opsets: Readonly<Record<string, number>> = { '': 17 }): Uint8Array {
    return encodeModel({ producer: 'studio', opsets, graph: this.graph() });
  }
}
