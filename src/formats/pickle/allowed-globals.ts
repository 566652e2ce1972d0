/**
 * The only globals a PyTorch state-dict pickle may name. Everything else (os.system, builtins.eval,
 * subprocess.Popen, lookalikes such as torch.os.system or dotted attribute paths) is refused by exact match
 * before anything could use it. Nothing here is ever "called": REDUCE on these builds plain data in pickle-vm.ts.
 */
import type { SafetensorsDtype } from '../safetensors/dtypes.js';

export type AllowedGlobal =
  | { kind: 'ordered-dict' }
  | { kind: 'rebuild-tensor' }
  | { kind: 'rebuild-parameter' }
  | { kind: 'storage-type'; dtype: SafetensorsDtype }
  | { kind: 'dtype'; dtype: SafetensorsDtype };

/** torch's legacy typed-storage classes (what persistent ids name) and their element types. */
export const STORAGE_TYPES: Readonly<Record<string, SafetensorsDtype>> = {
  BFloat16Storage: 'BF16',
  HalfStorage: 'F16',
  FloatStorage: 'F32',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

const DTYPES: Readonly<Record<string, SafetensorsDtype>> = {
  bfloat16: 'BF16',
  float16: 'F16',
  half: 'F16',
  float32: 'F32',
  float: 'F32',
  float64: 'F64',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};

const TABLE = new Map<string, AllowedGlobal>([
  ['collections.OrderedDict', { kind: 'ordered-dict' }],
  ['torch._utils._rebuild_tensor_v2', { kind: 'rebuild-tensor' }],
  ['torch._utils._rebuild_parameter', { kind: 'rebuild-parameter' }],
  ['torch._utils._rebuild_parameter_with_state', { kind: 'rebuild-parameter' }],
  ...Object.entries(STORAGE_TYPES).map(([name, dtype]): [string, AllowedGlobal] => [`torch.${name}`, { kind: 'storage-type', dtype }]),
  ...Object.entries(DTYPES).map(([name, dtype]): [string, AllowedGlobal] => [`torch.${name}`, { kind: 'dtype', dtype }]),
]);

/** Exact lookup of `module.name`; undefined means refuse. */
export function allowedGlobal(module: string, name: string): AllowedGlobal | undefined {
  if (module.includes('\n') || name.includes('\n') || name.includes('.')) return undefined;
  return TABLE.get(`${module}.${name}`);
}
