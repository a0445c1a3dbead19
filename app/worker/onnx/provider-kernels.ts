// Which element types each GPU provider of ONNX Runtime registers kernels for, for the operators the engine's
// graphs use (Qwen-Image's and the Stable Diffusion family's), at the opset they are built with (21; com.microsoft 1). A node whose type a provider lacks
// would run on the CPU (with `session.disable_cpu_ep_fallback` the session fails instead): the provider
// checks in qwen-image/graph-kernels.test.ts and sd/graph-kernels.test.ts walk the full-size graphs against this table.
//
// Source: onnxruntime docs/OperatorKernels.md, the list generated from the registered kernels
// (tools/python/gen_opkernel_doc.py), at commit 001d12d2623fd411ce0f83d05abb5e82304a3389, read for the
// CUDAExecutionProvider and DmlExecutionProvider sections; the row covering opset 21 of each operator.
// Narrowed where another source disagrees for the pinned 1.29: CUDA's com.microsoft MultiHeadAttention is
// listed with bfloat16 there, but contrib_ops/cuda/bert/multihead_attention.cc at 008eeb96 registers only
// float and float16, so bfloat16 is left out (the graphs attend in float16 under bf16). DirectML's
// MatMulNBits takes exactly four inputs (zero points given). DirectML's MultiHeadAttention
// (providers/dml/.../DmlOperatorMultiHeadAttention.cpp) never reads the `unidirectional` attribute, so causal
// attention would silently attend to every token, and it validates an attention bias as the full
// [batch, heads, S, T] (no broadcasting over batch or heads).

export type KernelType = 'f32' | 'f16' | 'bf16' | 'f64' | 'i64' | 'i32' | 'i8' | 'u8' | 'bool';
export type GpuProvider = 'cuda' | 'dml';

export const KERNEL_TABLE_SOURCE =
  'onnxruntime docs/OperatorKernels.md @ 001d12d2623fd411ce0f83d05abb5e82304a3389 (CUDA, DirectML sections, opset 21 rows); CUDA MultiHeadAttention per contrib_ops/cuda/bert/multihead_attention.cc @ 008eeb96 (float, float16)';

const F = ['f32', 'f16'] as const;
const FB = ['f32', 'f16', 'bf16'] as const;
const MOVE_CUDA = ['f32', 'f16', 'bf16', 'f64', 'i64', 'i32', 'i8', 'u8', 'bool'] as const;
const MOVE_DML = ['f32', 'f16', 'f64', 'i64', 'i32', 'i8', 'u8', 'bool'] as const;

/** Kernel types by provider and `domain:op` ('' is the ONNX domain). */
export const KERNELS: Readonly<Record<GpuProvider, Readonly<Record<string, readonly KernelType[]>>>> = {
  cuda: {
    ':Add': [...FB, 'i64', 'i32'],
    ':ArgMax': [...F, 'f64'],
    ':Equal': [...F, 'f64', 'i64', 'i32', 'bool'],
    ':GatherND': [...FB, 'f64', 'i64', 'bool'],
    ':InstanceNormalization': [...F, 'f64'], // no bfloat16
    ':Pad': [...F, 'f64', 'bool'],
    ':Range': ['f32', 'f64', 'i64', 'i32'],
    ':Sub': [...FB, 'i64', 'i32'],
    ':Mul': [...FB, 'i64', 'i32'],
    ':Div': [...FB, 'i64', 'i32'],
    ':Max': FB,
    ':Cast': MOVE_CUDA,
    ':Clip': F,
    ':Concat': MOVE_CUDA,
    ':Conv': F, // bfloat16 only from opset 22
    ':Cos': F,
    ':Sin': F,
    ':Expand': MOVE_CUDA,
    ':Gather': MOVE_CUDA,
    ':Identity': MOVE_CUDA,
    ':LayerNormalization': FB,
    ':SimplifiedLayerNormalization': FB,
    ':MatMul': FB,
    ':Neg': FB,
    ':Reciprocal': F,
    ':ReduceL2': F,
    ':ReduceMean': F,
    ':ReduceSum': FB,
    ':Reshape': MOVE_CUDA,
    ':Resize': F,
    ':Shape': MOVE_CUDA,
    ':Sigmoid': FB,
    ':Slice': MOVE_CUDA,
    ':Softmax': FB,
    ':Split': MOVE_CUDA,
    ':Sqrt': FB,
    ':Squeeze': MOVE_CUDA,
    ':Tanh': FB,
    ':Transpose': MOVE_CUDA,
    ':Unsqueeze': MOVE_CUDA,
    ':Where': FB,
    'com.microsoft:FastGelu': FB,
    'com.microsoft:FusedMatMul': FB,
    'com.microsoft:Gelu': FB,
    'com.microsoft:MatMulNBits': FB,
    'com.microsoft:MultiHeadAttention': F,
    'com.microsoft:RotaryEmbedding': FB,
    'com.microsoft:SkipSimplifiedLayerNormalization': FB,
  },
  dml: {
    ':Add': [...F, 'i64', 'i32'],
    ':ArgMax': [...F, 'i64', 'i32', 'i8', 'u8'],
    ':Equal': [...F, 'i64', 'i32', 'i8', 'u8'],
    ':GatherND': MOVE_DML,
    ':InstanceNormalization': F,
    ':Pad': MOVE_DML,
    ':Range': ['f32', 'i64', 'i32'],
    ':Sub': [...F, 'i64', 'i32'],
    ':Mul': [...F, 'i64', 'i32'],
    ':Div': [...F, 'i64', 'i32'],
    ':Max': F,
    ':Cast': MOVE_DML,
    ':Clip': F,
    ':Concat': MOVE_DML,
    ':Conv': F,
    ':Cos': F,
    ':Sin': F,
    ':Expand': MOVE_DML,
    ':Gather': MOVE_DML,
    ':Identity': MOVE_DML,
    ':LayerNormalization': F,
    ':SimplifiedLayerNormalization': F,
    ':MatMul': F,
    ':Neg': F,
    ':Reciprocal': F,
    ':ReduceL2': F,
    ':ReduceMean': F,
    ':ReduceSum': F,
    ':Reshape': MOVE_DML,
    ':Resize': F,
    ':Shape': MOVE_DML,
    ':Sigmoid': F,
    ':Slice': MOVE_DML,
    ':Softmax': F,
    ':Split': MOVE_DML,
    ':Sqrt': F,
    ':Squeeze': MOVE_DML,
    ':Tanh': F,
    ':Transpose': MOVE_DML,
    ':Unsqueeze': MOVE_DML,
    ':Where': F,
    'com.microsoft:FastGelu': F,
    'com.microsoft:FusedMatMul': F,
    'com.microsoft:Gelu': F,
    'com.microsoft:MatMulNBits': F,
    'com.microsoft:MultiHeadAttention': F,
    'com.microsoft:RotaryEmbedding': F,
    'com.microsoft:SkipSimplifiedLayerNormalization': F,
  },
};

/** What a kernel rule sees of a node: its attributes' integer values, its inputs (absent: not given) with their shapes. */
export interface RuleNode {
  readonly ints: Readonly<Record<string, number | undefined>>;
  readonly inputs: readonly (readonly number[] | undefined)[];
}

/** Kernel conditions beyond types: [provider, domain:op, what must hold, the rule in words]. */
export const KERNEL_RULES: readonly { readonly provider: GpuProvider; readonly op: string; readonly holds: (node: RuleNode) => boolean; readonly rule: string }[] = [
  { provider: 'dml', op: 'com.microsoft:MatMulNBits', holds: (n) => n.inputs.filter(Boolean).length === 4, rule: 'DirectML runs MatMulNBits only with its zero points given (four inputs)' },
  {
    provider: 'dml',
    op: 'com.microsoft:MultiHeadAttention',
    holds: (n) => !n.ints.unidirectional,
    rule: 'DirectML ignores MultiHeadAttention\'s unidirectional attribute: causal attention needs an explicit bias',
  },
  {
    provider: 'dml',
    op: 'com.microsoft:MultiHeadAttention',
    holds: (n) => {
      const bias = n.inputs[5];
      return !bias || (bias.length === 4 && bias[0] === n.inputs[0]?.[0] && bias[1] === n.ints.num_heads);
    },
    rule: 'DirectML takes a MultiHeadAttention bias only as the full [batch, heads, S, T]',
  },
];
