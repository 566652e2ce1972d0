/**
 * The safetensors dtype names (reference/qwen-family.md §6), in the library's alignment order. The order matters:
 * the official writer sorts tensors by descending position in this list, which keeps every tensor's absolute
 * offset a multiple of its element size once the header is padded to 8 bytes.
 */
export const SAFETENSORS_DTYPES = [
  'BOOL',
  'F4',
  'F6_E2M3',
  'F6_E3M2',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'F8_E8M0',
  'F8_E4M3FNUZ',
  'F8_E5M2FNUZ',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'C64',
  'F64',
  'I64',
  'U64',
] as const;

export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number];

const BITS: Readonly<Record<SafetensorsDtype, number>> = Object.freeze({
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
});

const ORDER = new Map<string, number>(SAFETENSORS_DTYPES.map((name, index) => [name, index]));

export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && ORDER.has(value);
}

/** Bits per element (4 and 6 for the sub-byte float formats). */
export function dtypeBits(dtype: SafetensorsDtype): number {
  return BITS[dtype];
}

/** Bytes per element, or undefined for the sub-byte formats that pack several elements per byte. */
export function dtypeElementSize(dtype: SafetensorsDtype): number | undefined {
  const bits = BITS[dtype];
  return bits % 8 === 0 ? bits / 8 : undefined;
}

/**
 * The smallest byte count that always holds a whole number of elements: the element size for byte-sized types,
 * 1 byte (2 elements) for F4, 3 bytes (4 elements) for F6. Chunked reads cut at multiples of this.
 */
export function dtypeByteQuantum(dtype: SafetensorsDtype): number {
  const bits = BITS[dtype];
  let quantum = 1;
  while ((quantum * 8) % bits !== 0) quantum++;
  return quantum;
}

/** Position in the alignment order; the writer sorts by this, descending. */
export function dtypeAlignmentRank(dtype: SafetensorsDtype): number {
  return ORDER.get(dtype) as number;
}

/**
 * Byte size of a tensor, with overflow checks: BigInt product, so a shape like [2^40, 2^40] gives a huge value
 * that callers compare, instead of silently losing precision in a double. Returns undefined when the bit count
 * is not a whole number of bytes (a sub-byte tensor with an odd element count).
 */
export function tensorByteSize(dtype: SafetensorsDtype, shape: readonly number[]): bigint | undefined {
  let elements = 1n;
  for (const dim of shape) elements *= BigInt(dim);
  const bits = elements * BigInt(BITS[dtype]);
  return bits % 8n === 0n ? bits / 8n : undefined;
}

/** Element count of a shape (1 for rank 0), as a safe integer, or undefined when it exceeds 2^53 - 1. */
export function shapeElementCount(shape: readonly number[]): number | undefined {
  let elements = 1n;
  for (const dim of shape) elements *= BigInt(dim);
  return elements <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(elements) : undefined;
}
