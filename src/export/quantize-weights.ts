/**
 * Weight quantization for the exported decoder: a Linear weight W (out, in) in float32 becomes
 *
 * - `int8` per output column for onnxruntime's com.microsoft DynamicQuantizeMatMul: B (in, out) int8,
 *   symmetric (zero point 0), scale_n = max|W[n, :]| / 127;
 * - `nbits` blocks for com.microsoft MatMulNBits (bits 4 or 8): B (out, blocks, blob) uint8, each block
 *   of `blockSize` consecutive input values sharing one scale, symmetric around the op's default zero
 *   point 2^(bits−1) (so no zero-point tensor is stored); 4-bit values pack two to a byte, the first in
 *   the low nibble, as the op's spec says.
 *
 * Symmetric rounding to nearest is what onnxruntime's own `matmul_4bits_quantizer` does in its default
 * mode; no calibration data is needed, so export stays a pure function of the weights.
 */

export interface ColumnQuantized {
  /** (in, out) row-major int8. */
  values: Int8Array;
  /** (out) one scale per output column. */
  scales: Float32Array;
}

export interface BlockQuantized {
  /** (out, blocks, blockSize · bits / 8) row-major uint8. */
  values: Uint8Array;
  /** (out · blocks). */
  scales: Float32Array;
  blocks: number;
  blobBytes: number;
}

/** W (out, in) row-major → int8 (in, out) with one symmetric scale per output column, times `factor`. */
export function quantizeColumnsInt8(
  weight: Float32Array,
  out: number,
  inFeatures: number,
  factor = 1,
): ColumnQuantized {
  const values = new Int8Array(out * inFeatures);
  const scales = new Float32Array(out);
  for (let n = 0; n < out; n += 1) {
    const row = weight.subarray(n * inFeatures, (n + 1) * inFeatures);
    let largest = 0;
    for (const item of row) largest = Math.max(largest, Math.abs(item));
    const scale = largest === 0 ? 1 : largest / 127;
    for (let k = 0; k < inFeatures; k += 1)
      values[k * out + n] = Math.max(-127, Math.min(127, Math.round(row[k]! / scale)));
    scales[n] = scale * factor;
  }
  return { values, scales };
}

/**
 * W (out, in) row-major → MatMulNBits blocks along `in` (the last block zero-padded), scales times
 * `factor` (a Gemm's alpha folds in there for free).
 */
export function quantizeBlocks(
  weight: Float32Array,
  out: number,
  inFeatures: number,
  bits: 4 | 8,
  blockSize: number,
  factor = 1,
): BlockQuantized {
  const blocks = Math.ceil(inFeatures / blockSize);
  const blobBytes = (blockSize * bits) / 8;
  const zeroPoint = 1 << (bits - 1);
  const largestLevel = zeroPoint - 1; // 7 or 127: symmetric, the level −2^(bits−1) is never used
  const values = new Uint8Array(out * blocks * blobBytes);
  const scales = new Float32Array(out * blocks);
  for (let n = 0; n < out; n += 1) {
    for (let block = 0; block < blocks; block += 1) {
      const start = n * inFeatures + block * blockSize;
      const end = n * inFeatures + Math.min(inFeatures, (block + 1) * blockSize);
      let largest = 0;
      for (let index = start; index < end; index += 1) largest = Math.max(largest, Math.abs(weight[index]!));
      const scale = largest === 0 ? 1 : largest / largestLevel;
      scales[n * blocks + block] = scale * factor;
      const blob = (n * blocks + block) * blobBytes;
      for (let index = start; index < end; index += 1) {
        const level = Math.max(-largestLevel, Math.min(largestLevel, Math.round(weight[index]! / scale)));
        const stored = level + zeroPoint;
        const offset = index - start;
        if (bits === 8) values[blob + offset] = stored;
        else values[blob + (offset >> 1)]! |= (offset & 1) === 0 ? stored : stored << 4;
      }
      // Padding past `in` must read as zero weights: the zero point itself.
      for (let offset = end - start; offset < blockSize; offset += 1) {
        if (bits === 8) values[blob + offset] = zeroPoint;
        else values[blob + (offset >> 1)]! |= (offset & 1) === 0 ? zeroPoint : zeroPoint << 4;
      }
    }
  }
  return { values, scales, blocks, blobBytes };
}

/** The float32 weight MatMulNBits reconstructs (for tests and error bounds): (out, in). */
export function dequantizeBlocks(
  quantized: BlockQuantized,
  out: number,
  inFeatures: number,
  bits: 4 | 8,
  blockSize: number,
): Float32Array {
  const result = new Float32Array(out * inFeatures);
  const zeroPoint = 1 << (bits - 1);
  for (let n = 0; n < out; n += 1)
    for (let k = 0; k < inFeatures; k += 1) {
      const block = Math.floor(k / blockSize);
      const offset = k % blockSize;
      const blob = (n * quantized.blocks + block) * quantized.blobBytes;
      const byte = quantized.values[blob + (bits === 8 ? offset : offset >> 1)]!;
      const stored = bits === 8 ? byte : (offset & 1) === 0 ? byte & 15 : byte >> 4;
      result[n * inFeatures + k] = (stored - zeroPoint) * quantized.scales[n * quantized.blocks + block]!;
    }
  return result;
}
