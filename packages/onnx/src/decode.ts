import { describe, OnnxExportError } from './errors.js';
import { type ModelJson, ModelProto } from './onnx-proto.js';

/**
 * Decodes ONNX model bytes (the fields `exportOnnx` writes; others are skipped) into plain
 * objects: int64 fields as numbers, bytes as `Uint8Array`. For inspecting an exported model.
 */
export function decodeOnnx(bytes: Uint8Array): ModelJson {
  let message: ReturnType<typeof ModelProto.decode>;
  try {
    message = ModelProto.decode(bytes);
  } catch (e) {
    throw new OnnxExportError(
      describe(
        'decodeOnnx',
        'the bytes of an ONNX ModelProto',
        `undecodable bytes (${(e as Error).message})`,
      ),
    );
  }
  return ModelProto.toObject(message, {
    longs: Number,
    bytes: Uint8Array,
    defaults: false,
    arrays: true,
  }) as ModelJson;
}
