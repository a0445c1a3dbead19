// ONNX ModelProto as plain TypeScript data, encoded with field numbers from onnx/onnx.proto (IR version 9).

import { ProtoWriter } from './proto-writer.js';

/** TensorProto.DataType values. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  BFLOAT16: 16,
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

export type Dim = number | string;

export interface ExternalData {
  /** Relative to the session's external-initializer folder; ONNX Runtime refuses absolute paths. */
  readonly location: string;
  readonly offset: number;
  readonly length: number;
}

export interface TensorProto {
  readonly name: string;
  readonly dataType: DataType;
  readonly dims: readonly number[];
  readonly raw?: Uint8Array;
  readonly external?: ExternalData;
}

export type Attribute =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'tensor'; readonly value: TensorProto };

export interface NodeProto {
  readonly name: string;
  readonly opType: string;
  readonly domain?: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: Readonly<Record<string, Attribute>>;
}

export interface ValueInfo {
  readonly name: string;
  readonly dataType: DataType;
  readonly dims: readonly Dim[];
}

export interface GraphProto {
  readonly name: string;
  readonly nodes: readonly NodeProto[];
  readonly initializers: readonly TensorProto[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
}

export interface ModelProto {
  readonly graph: GraphProto;
  readonly opsets: Readonly<Record<string, number>>;
  readonly producer: string;
}

// AttributeProto.AttributeType
const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

function tensorWriter(t: TensorProto): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.varint(1, d);
  w.varint(2, t.dataType);
  w.string(8, t.name);
  if (t.raw) w.bytes(9, t.raw);
  if (t.external) {
    const entries: [string, string][] = [
      ['location', t.external.location],
      ['offset', String(t.external.offset)],
      ['length', String(t.external.length)],
    ];
    for (const [key, value] of entries) w.message(13, new ProtoWriter().string(1, key).string(2, value));
    w.varint(14, 1); // data_location = EXTERNAL
  }
  return w;
}

function attributeWriter(name: string, a: Attribute): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  switch (a.kind) {
    case 'float':
      w.float(2, a.value);
      break;
    case 'int':
      w.varint(3, a.value);
      break;
    case 'string':
      w.string(4, a.value);
      break;
    case 'tensor':
      w.message(5, tensorWriter(a.value));
      break;
    case 'floats':
      for (const v of a.value) w.float(7, v);
      break;
    case 'ints':
      for (const v of a.value) w.varint(8, v);
      break;
  }
  return w.varint(20, ATTR_TYPE[a.kind]);
}

function valueInfoWriter(v: ValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims) {
    shape.message(1, typeof d === 'number' ? new ProtoWriter().varint(1, d) : new ProtoWriter().string(2, d));
  }
  const tensorType = new ProtoWriter().varint(1, v.dataType).message(2, shape);
  return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
}

export function encodeModel(model: ModelProto): Uint8Array {
  const g = new ProtoWriter();
  for (const n of model.graph.nodes) {
    const nw = new ProtoWriter();
    for (const i of n.inputs) nw.string(1, i);
    for (const o of n.outputs) nw.string(2, o);
    nw.string(3, n.name).string(4, n.opType);
    for (const [name, a] of Object.entries(n.attributes)) nw.message(5, attributeWriter(name, a));
    if (n.domain) nw.string(7, n.domain);
    g.message(1, nw);
  }
  g.string(2, model.graph.name);
  for (const t of model.graph.initializers) g.message(5, tensorWriter(t));
  for (const v of model.graph.inputs) g.message(11, valueInfoWriter(v));
  for (const v of model.graph.outputs) g.message(12, valueInfoWriter(v));

  const m = new ProtoWriter().varint(1, 9).string(2, model.producer);
  m.message(7, g);
  for (const [domain, version] of Object.entries(model.opsets)) {
    m.message(8, new ProtoWriter().string(1, domain).varint(2, version));
  }
  return m.finish();
}
