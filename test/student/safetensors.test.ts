import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPreset } from '../../src/student/config.js';
import { initializeWeights, studentWeightShapes } from '../../src/student/initialize.js';
import { referenceForward } from '../../src/student/reference-forward.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  writeSafetensors,
  type Tensor,
} from '../../src/student/safetensors.js';

/** Builds a safetensors file by hand from a header object and raw data bytes. */
function rawFile(header: unknown, data: Uint8Array): Uint8Array {
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const bytes = new Uint8Array(8 + headerBytes.length + data.length);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  bytes.set(headerBytes, 8);
  bytes.set(data, 8 + headerBytes.length);
  return bytes;
}

const tensors = new Map<string, Tensor>([
  ['model.embed_tokens.weight', { shape: [3, 2], data: new Float32Array([1, -2, 3.5, 1e-8, -0, 65504]) }],
  ['model.norm.weight', { shape: [2], data: new Float32Array([1, 1]) }],
  ['scalar', { shape: [], data: new Float32Array([Math.PI]) }],
]);

describe('safetensors', () => {
  it('round-trips F32 tensors and metadata through a file', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'dnc-safetensors-')), 'model.safetensors');
    await writeSafetensors(file, tensors, { format: 'pt', step: '12' });
    const loaded = await readSafetensors(file);
    expect(loaded.metadata).toEqual({ format: 'pt', step: '12' });
    expect([...loaded.tensors.keys()]).toEqual([...tensors.keys()]);
    for (const [name, tensor] of tensors) expect(loaded.tensors.get(name)).toEqual(tensor);
  });

  it('writes the layout the format specifies: LE header length, aligned data, contiguous offsets', () => {
    const bytes = encodeSafetensors(tensors);
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    expect(header['model.norm.weight']).toEqual({ dtype: 'F32', shape: [2], data_offsets: [24, 32] });
    expect(header.__metadata__).toBeUndefined();
    expect(bytes.length).toBe(8 + headerLength + 4 * 9);
    expect(new DataView(bytes.buffer).getFloat32(8 + headerLength + 8, true)).toBe(3.5);
  });

  it('reads F16 and BF16 tensors as F32', () => {
    const data = new Uint8Array(12);
    const view = new DataView(data.buffer);
    [0x3c00, 0xc000, 0x0001].forEach((bits, index) => view.setUint16(index * 2, bits, true)); // 1, -2, 2^-24
    [0x3f80, 0x4049, 0xff80].forEach((bits, index) => view.setUint16(6 + index * 2, bits, true)); // 1, 3.140625, -inf
    const header = {
      half: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
      brain: { dtype: 'BF16', shape: [3], data_offsets: [6, 12] },
    };
    const loaded = decodeSafetensors(rawFile(header, data));
    expect([...loaded.tensors.get('half')!.data]).toEqual([1, -2, 2 ** -24]);
    expect([...loaded.tensors.get('brain')!.data]).toEqual([1, 3.140625, -Infinity]);
  });

  it('names the file and the problem when the file is corrupt', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'dnc-safetensors-bad-'));
    const cases: Array<[Uint8Array, RegExp]> = [
      [new Uint8Array(3), /shorter than the 8-byte header length/],
      [encodeSafetensors(tensors).subarray(0, 40), /header length \d+ exceeds the file size|not JSON/],
      [
        rawFile({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)),
        /a\.dtype: dtype must be/,
      ],
      [
        rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)),
        /do not hold F32 \[3\]/,
      ],
      [
        rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(8)),
        /4 trailing bytes/,
      ],
      [
        rawFile(
          {
            a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
            b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
          },
          new Uint8Array(12),
        ),
        /overlap or gap/,
      ],
    ];
    for (const [index, [bytes, pattern]] of cases.entries()) {
      const file = join(directory, `bad-${index}.safetensors`);
      await writeFile(file, bytes);
      const error = await readSafetensors(file).catch((caught: unknown) => caught as Error);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toContain(`bad-${index}.safetensors: not a valid safetensors file`);
      expect((error as Error).message).toMatch(pattern);
    }
  });

  it('refuses to write a tensor whose data does not fill its shape', () => {
    const wrong = new Map([['w', { shape: [2, 2], data: new Float32Array(3) }]]);
    expect(() => encodeSafetensors(wrong)).toThrow(/w: 3 values do not fill shape \[2,2\]/);
  });
});

describe('a student checkpoint in safetensors', () => {
  it('reloads to weights that give the same logits', async () => {
    const { architecture } = await loadPreset('nano');
    const weights = initializeWeights(architecture, 3);
    const shapes = studentWeightShapes(architecture);
    const named = new Map([...weights].map(([name, data]) => [name, { shape: shapes.get(name)!, data }]));
    const file = join(await mkdtemp(join(tmpdir(), 'dnc-checkpoint-')), 'model.safetensors');
    await writeSafetensors(file, named, { format: 'pt' });
    const loaded = await readSafetensors(file);
    expect(loaded.tensors.get('model.layers.1.self_attn.k_proj.weight')!.shape).toEqual([32, 64]);
    const reloaded = new Map([...loaded.tensors].map(([name, tensor]) => [name, tensor.data]));
    const tokens = [0, 5, 300, 511, 7];
    expect(referenceForward(architecture, reloaded, tokens)).toEqual(
      referenceForward(architecture, weights, tokens),
    );
  });
});
