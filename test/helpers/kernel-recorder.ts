import * as tf from '@tensorflow/tfjs-core';

/** A tensor's values, copied off the backend that made it. */
export interface RecordedTensor {
  shape: number[];
  dtype: tf.DataType;
  values: tf.TypedArray;
}

/** One kernel call: its inputs, attributes and outputs, by value. */
export interface KernelCall {
  kernel: string;
  inputs: Record<string, RecordedTensor>;
  /** Whether the inputs were a list (Concat, AddN) rather than named. */
  list: boolean;
  attrs: Record<string, unknown>;
  outputs: RecordedTensor[];
}

type Infos = tf.TensorInfo | tf.TensorInfo[];

/**
 * Records every kernel the engine runs on `backend` (whose tensors can be read synchronously,
 * such as cpu) while `work` runs, by wrapping each registered kernel; the originals are back
 * afterwards. Calls with the same kernel, attributes and input shapes are kept once.
 */
export async function recordKernels(
  backend: string,
  work: () => Promise<void>,
): Promise<KernelCall[]> {
  const calls = new Map<string, KernelCall>();
  const originals = tf.getKernelsForBackend(backend);
  const read = (b: tf.KernelBackend, t: tf.TensorInfo): RecordedTensor => ({
    shape: [...t.shape],
    dtype: t.dtype,
    values: (b.readSync(t.dataId) as tf.TypedArray).slice(),
  });
  for (const config of originals) {
    tf.unregisterKernel(config.kernelName, backend);
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        const out = config.kernelFunc(args) as Infos;
        const attrs = JSON.parse(JSON.stringify(args.attrs ?? {})) as Record<string, unknown>;
        const named = Object.entries(args.inputs).filter(([, t]) => t !== undefined) as [
          string,
          tf.TensorInfo,
        ][];
        const key = `${config.kernelName} ${JSON.stringify(attrs)} ${named.map(([n, t]) => `${n}:${t.shape.join('x')}`).join(',')}`;
        if (!calls.has(key)) {
          const b = args.backend as tf.KernelBackend;
          calls.set(key, {
            kernel: config.kernelName,
            inputs: Object.fromEntries(named.map(([n, t]) => [n, read(b, t)])),
            list: Array.isArray(args.inputs),
            attrs,
            outputs: (Array.isArray(out) ? out : [out]).map((t) => read(b, t)),
          });
        }
        return out;
      },
    });
  }
  try {
    await work();
  } finally {
    for (const config of originals) {
      tf.unregisterKernel(config.kernelName, backend);
      tf.registerKernel(config);
    }
  }
  return [...calls.values()];
}

/** Runs a recorded call again on the current backend; resolves to its outputs' values. */
export async function replayKernel(call: KernelCall): Promise<tf.TypedArray[]> {
  const inputs = Object.fromEntries(
    Object.entries(call.inputs).map(([n, t]) => [n, tf.tensor(t.values, t.shape, t.dtype)]),
  );
  const given = call.list ? Object.values(inputs) : inputs;
  const result = tf
    .engine()
    .runKernel(call.kernel, given as tf.NamedTensorMap, call.attrs as tf.NamedAttrMap) as
    tf.Tensor | tf.Tensor[];
  const outputs = Array.isArray(result) ? result : [result];
  try {
    return await Promise.all(outputs.map((t) => t.data()));
  } finally {
    tf.dispose([...Object.values(inputs), ...outputs]);
  }
}
