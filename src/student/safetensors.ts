/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length, a JSON header `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__? }`
 * and the raw little-endian tensor bytes. Hand-written: the format is this small, and the npm
 * package list holds no maintained safetensors reader/writer for Node. dnc writes F32; it reads
 * F32, F16 and BF16 (converted to F32) so that external Hugging Face checkpoints load too.
 */
import { open } from 'node:fs/promises';
import { z } from 'zod';
import { UserError } from '../errors/user-error.js';
import { writeFileAtomic } from '../data/jsonl.js';
import { formatZodError } from '../data/zod-format.js';

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsContent {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
  /** Tensors in the file that `select` turned away (not decoded). */
  skipped: string[];
}

const bytesPerElement = { F32: 4, F16: 2, BF16: 2 } as const;
type ReadableDtype = keyof typeof bytesPerElement;

const tensorEntrySchema = z.strictObject({
  dtype: z.enum(['F32', 'F16', 'BF16'], {
    error: 'dtype must be F32, F16 or BF16 (dnc reads no other type)',
  }),
  shape: z.array(z.number().int().nonnegative()),
  data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
});

const headerSchema = z.record(z.string(), z.unknown()).transform((header, context) => {
  const metadata = z.record(z.string(), z.string()).optional().safeParse(header.__metadata__);
  if (!metadata.success) {
    context.addIssue({ code: 'custom', path: ['__metadata__'], message: 'must map strings to strings' });
  }
  const entries: Array<[string, z.infer<typeof tensorEntrySchema>]> = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const entry = tensorEntrySchema.safeParse(value);
    if (entry.success) entries.push([name, entry.data]);
    else for (const issue of entry.error.issues) context.addIssue({ ...issue, path: [name, ...issue.path] });
  }
  return { metadata: (metadata.success ? metadata.data : undefined) ?? {}, entries };
});

const elementCount = (shape: readonly number[]): number => shape.reduce((product, size) => product * size, 1);

/** IEEE half precision → number. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const wordBits = new Uint32Array(1);
const wordFloat = new Float32Array(wordBits.buffer);

/** bfloat16 is the top half of a float32. */
function bfloat16ToFloat(bits: number): number {
  wordBits[0] = bits << 16;
  return wordFloat[0];
}

/** Whether this machine stores floats little-endian (then F32 bytes can be copied as they are). */
const littleEndian = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

function decodeElements(
  bytes: Uint8Array,
  dtype: ReadableDtype,
  count: number,
  asView: boolean,
): Float32Array {
  if (dtype === 'F32' && littleEndian && asView && bytes.byteOffset % 4 === 0)
    return new Float32Array(bytes.buffer, bytes.byteOffset, count); // no copy: a view of the file's bytes
  if (dtype === 'F32' && littleEndian) {
    const copy = new Float32Array(count);
    new Uint8Array(copy.buffer).set(bytes); // a copy, so the result is aligned and owns its memory
    return copy;
  }
  const result = new Float32Array(count);
  if (dtype === 'BF16' && littleEndian && bytes.byteOffset % 2 === 0) {
    // bfloat16 is the top half of a float32: shift the 16-bit words into place, a word at a time.
    const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
    const words = new Uint32Array(result.buffer);
    for (let index = 0; index < count; index += 1) words[index] = halves[index] << 16;
    return result;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let index = 0; index < count; index += 1) {
    if (dtype === 'F32') result[index] = view.getFloat32(index * 4, true);
    else if (dtype === 'F16') result[index] = halfToFloat(view.getUint16(index * 2, true));
    else result[index] = bfloat16ToFloat(view.getUint16(index * 2, true));
  }
  return result;
}

export interface DecodeOptions {
  /**
   * Let aligned little-endian F32 tensors be views of `bytes` instead of copies, so a large file is
   * held once (the views keep `bytes` alive). F16 and BF16 are always decoded into new float32 arrays.
   */
  views?: boolean;
  /** Decode only the tensors this accepts (the header is still checked whole). */
  select?: (name: string) => boolean;
}

/** Parses safetensors bytes; `source` names the file in error messages. */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = 'safetensors buffer',
  options: DecodeOptions = {},
): SafetensorsContent {
  const fail = (why: string): never => {
    throw new UserError(`${source}: not a valid safetensors file: ${why}; re-save or re-download it`);
  };
  if (bytes.byteLength < 8) fail(`only ${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > bytes.byteLength - 8) fail(`header length ${headerLength} exceeds the file size`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    fail(`the header is not JSON (${(error as Error).message})`);
  }
  const header = headerSchema.safeParse(json);
  if (!header.success) return fail(`bad header: ${formatZodError(header.error)}`);
  const data = bytes.subarray(8 + headerLength);
  const tensors = new Map<string, Tensor>();
  const spans: Array<[number, number, string]> = [];
  const skipped: string[] = [];
  for (const [name, entry] of header.data.entries) {
    const [begin, end] = entry.data_offsets;
    const count = elementCount(entry.shape);
    if (end - begin !== count * bytesPerElement[entry.dtype] || end > data.byteLength) {
      fail(
        `tensor ${name}: data_offsets [${begin}, ${end}] do not hold ${entry.dtype} ${JSON.stringify(entry.shape)}`,
      );
    }
    spans.push([begin, end, name]);
    if (options.select !== undefined && !options.select(name)) {
      skipped.push(name);
      continue;
    }
    tensors.set(name, {
      shape: entry.shape,
      data: decodeElements(data.subarray(begin, end), entry.dtype, count, options.views ?? false),
    });
  }
  spans.sort((left, right) => left[0] - right[0]);
  let covered = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== covered) fail(`tensor ${name} starts at ${begin}, expected ${covered} (overlap or gap)`);
    covered = end;
  }
  if (covered !== data.byteLength) fail(`${data.byteLength - covered} trailing bytes after the last tensor`);
  return { tensors, metadata: header.data.metadata, skipped };
}

/** Serializes F32 tensors (in the map's order) with optional string metadata. */
export function encodeSafetensors(
  tensors: Map<string, Tensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, tensor] of tensors) {
    if (tensor.data.length !== elementCount(tensor.shape)) {
      throw new Error(
        `tensor ${name}: ${tensor.data.length} values do not fill shape ${JSON.stringify(tensor.shape)}`,
      );
    }
    header[name] = {
      dtype: 'F32',
      shape: tensor.shape,
      data_offsets: [offset, offset + tensor.data.byteLength],
    };
    offset += tensor.data.byteLength;
  }
  let headerText = JSON.stringify(header);
  headerText += ' '.repeat((8 - (Buffer.byteLength(headerText) % 8)) % 8); // data starts 8-byte aligned
  const headerBytes = new TextEncoder().encode(headerText);
  const result = new Uint8Array(8 + headerBytes.byteLength + offset);
  const view = new DataView(result.buffer);
  view.setBigUint64(0, BigInt(headerBytes.byteLength), true);
  result.set(headerBytes, 8);
  let position = 8 + headerBytes.byteLength;
  for (const tensor of tensors.values()) {
    if (littleEndian)
      result.set(
        new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength),
        position,
      );
    else
      for (let index = 0; index < tensor.data.length; index += 1)
        view.setFloat32(position + index * 4, tensor.data[index], true);
    position += tensor.data.byteLength;
  }
  return result;
}

export async function writeSafetensors(
  file: string,
  tensors: Map<string, Tensor>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

/**
 * The file's bytes in one buffer. fs.readFile refuses files over 2 GiB (a 1B-parameter BF16
 * checkpoint is 2.5 GB), so this reads into one preallocated buffer in chunks.
 */
async function readWholeFile(file: string): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const bytes = Buffer.allocUnsafeSlow(size);
    const chunk = 1 << 30;
    for (let offset = 0; offset < size;) {
      const { bytesRead } = await handle.read(bytes, offset, Math.min(chunk, size - offset), offset);
      if (bytesRead === 0) throw new Error(`the file ended at byte ${offset} of ${size}`);
      offset += bytesRead;
    }
    return bytes;
  } finally {
    await handle.close();
  }
}

/** Reads a safetensors file in one read and decodes it (see `DecodeOptions`). */
export async function readSafetensors(
  file: string,
  options: DecodeOptions = {},
): Promise<SafetensorsContent> {
  let bytes: Uint8Array;
  try {
    bytes = await readWholeFile(file);
  } catch (error) {
    throw new UserError(`cannot read ${file}: ${(error as Error).message}; check the path`, { cause: error });
  }
  return decodeSafetensors(bytes, file, options);
}
