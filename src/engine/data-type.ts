/** Element types the engine's graphs use, with their ONNX `TensorProto.DataType` codes. */
export type DataType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool';

/** `TensorProto.DataType` codes from onnx.proto. */
export const onnxDataTypeCode: Record<DataType, number> = {
  float32: 1,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11,
};

/** Bytes per element, for `raw_data`. */
export const bytesPerElement: Record<DataType, number> = {
  float32: 4,
  float64: 8,
  int64: 8,
  int32: 4,
  bool: 1,
};

/** Floating types carry gradients; integer and boolean values never do. */
export function isFloating(dataType: DataType): boolean {
  return dataType === 'float32' || dataType === 'float64';
}

/** The typed array onnxruntime uses for each element type. */
export type TypedArrayFor<T extends DataType> = T extends 'float32'
  ? Float32Array
  : T extends 'float64'
    ? Float64Array
    : T extends 'int64'
      ? BigInt64Array
      : T extends 'int32'
        ? Int32Array
        : Uint8Array;

export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

/** Little-endian bytes of numbers in the given element type (for initializers' `raw_data`). */
export function encodeRawData(
  dataType: DataType,
  values: ArrayLike<number | bigint> | TensorData,
): Uint8Array {
  const sameLayout =
    (dataType === 'float32' && values instanceof Float32Array) ||
    (dataType === 'float64' && values instanceof Float64Array) ||
    (dataType === 'int64' && values instanceof BigInt64Array) ||
    (dataType === 'int32' && values instanceof Int32Array);
  if (sameLayout && new Uint8Array(Uint16Array.of(1).buffer)[0] === 1) {
    const typed = values as Float32Array;
    return new Uint8Array(typed.buffer.slice(typed.byteOffset, typed.byteOffset + typed.byteLength));
  }
  const length = values.length;
  const buffer = new ArrayBuffer(length * bytesPerElement[dataType]);
  const view = new DataView(buffer);
  for (let index = 0; index < length; index += 1) {
    const value = values[index];
    switch (dataType) {
      case 'float32':
        view.setFloat32(index * 4, Number(value), true);
        break;
      case 'float64':
        view.setFloat64(index * 8, Number(value), true);
        break;
      case 'int64':
        view.setBigInt64(index * 8, BigInt(value), true);
        break;
      case 'int32':
        view.setInt32(index * 4, Number(value), true);
        break;
      case 'bool':
        view.setUint8(index, Number(value) !== 0 ? 1 : 0);
        break;
    }
  }
  return new Uint8Array(buffer);
}
