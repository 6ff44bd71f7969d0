import { RecurError } from '@recur/tensor';

/** A layer or an option that `exportOnnx` cannot turn into an ONNX model. */
export class OnnxExportError extends RecurError {
  override name = 'OnnxExportError';
}

/** The standard three-part message: what was expected, what was found, how to fix it. */
export function describe(where: string, expected: string, found: string, fix?: string): string {
  return `${where}: expected ${expected}, found ${found}.${fix ? ` ${fix}` : ''}`;
}
