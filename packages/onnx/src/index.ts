export { decodeOnnx } from './decode.js';
export { OnnxExportError } from './errors.js';
export {
  DEFAULT_OPSET,
  type ExportOnnxOptions,
  exportOnnx,
  exportOnnxAsync,
  MAX_OPSET,
  MIN_OPSET,
  ONNX_GATE_ORDER,
  ONNX_NAMES,
  reorderGates,
} from './export.js';
export type {
  AttributeJson,
  DimJson,
  ModelJson,
  NodeJson,
  TensorJson,
  ValueInfoJson,
} from './onnx-proto.js';
