/**
 * float8_e4m3fn (safetensors F8_E4M3): 1 sign, 4 exponent (bias 7), 3 mantissa bits. "fn" = finite: there is no
 * infinity, the all-ones exponent still holds normal numbers up to 448 (0x7E), and only S.1111.111 (0x7F, 0xFF)
 * is NaN. Exponent 0 is subnormal (m/8 * 2^-6). Every value is exact in float32, so decoding is a 256-entry table.
 */
const TABLE = new Float32Array(256);
for (let byte = 0; byte < 256; byte++) {
  const sign = byte & 0x80 ? -1 : 1;
  const exponent = (byte >> 3) & 0x0f;
  const mantissa = byte & 0x07;
  if (exponent === 0x0f && mantissa === 0x07) TABLE[byte] = Number.NaN;
  else if (exponent === 0) TABLE[byte] = sign * (mantissa / 8) * 2 ** -6;
  else TABLE[byte] = sign * (1 + mantissa / 8) * 2 ** (exponent - 7);
}

export function f8e4m3ToF32(byte: number): number {
  return TABLE[byte & 0xff]!;
}

/** The decode table (read only by convention): index with a byte. */
export const F8_E4M3_VALUES: Readonly<Float32Array> = TABLE;
