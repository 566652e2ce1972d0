/** The one scalar activation the linear-attention reference needs beyond the kit's tensor-math (silu, sigmoid). */

/** torch.nn.functional.softplus with its default threshold 20 (above it the input is returned unchanged). */
export function softplus(z: number): number {
  return z > 20 ? z : Math.log1p(Math.exp(z));
}
