import * as tf from '@tensorflow/tfjs-core';

/**
 * Training kernels we give tfjs-backend-webgpu 4.22 in place of its own.
 *
 * LRNGrad: tfjs's shader loops, for each output element, over every channel d and, for each,
 * over the channels up to d's window: O(C²) work per element, O(N·H·W·C³) in all. On conv2's
 * 128 channels at batch 16 that took 27 s on lavapipe, longer than the rest of the step
 * together, and it grows with the cube of the paper's 256. Only the channels whose window
 * holds this one contribute, so this shader visits just those: O(r²) per element. The formula
 * and the order of its sums are tfjs's, so results match the cpu backend's kernel.
 *
 *   dx_k = dy_k · s_k^−β − 2αβ · x_k · Σ_{d ∈ window(k)} dy_d · y_d / s_d,
 *   s_d = k_bias + α · Σ_{j ∈ window(d)} x_j²
 */

/** What tfjs-backend-webgpu needs of a program (its WebGPUProgram interface). */
interface Program {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  uniforms: string;
  workgroupSize: [number, number, number];
  size: boolean;
  getUserCode(): string;
}

interface WebgpuUtil {
  flatDispatchLayout(shape: number[]): { x: number[] };
  computeDispatch(
    layout: { x: number[] },
    shape: number[],
    workgroupSize: [number, number, number],
  ): [number, number, number];
}

interface WebgpuBackend {
  runWebGPUProgram(
    program: Program,
    inputs: tf.TensorInfo[],
    dtype: tf.DataType,
    uniforms: { type: string; data: number[] }[],
  ): tf.TensorInfo;
}

function lrnGradProgram(shape: number[], util: WebgpuUtil): Program {
  const workgroupSize: [number, number, number] = [64, 1, 1];
  const dispatchLayout = util.flatDispatchLayout(shape);
  return {
    outputShape: shape,
    shaderKey: 'svw_lrn_grad',
    dispatchLayout,
    dispatch: util.computeDispatch(dispatchLayout, shape, workgroupSize),
    variableNames: ['inputImage', 'outputImage', 'dy'],
    uniforms: 'depthRadius : i32, bias : f32, alpha : f32, beta : f32,',
    workgroupSize,
    size: true,
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let coords = getOutputCoords();
          let b = coords[0];
          let r = coords[1];
          let c = coords[2];
          let k = coords[3];
          let depth = uniforms.outShape[3];
          var own = 0.0;
          var sum = 0.0;
          for (var d = max(0, k - uniforms.depthRadius); d < min(depth, k + uniforms.depthRadius + 1); d++) {
            var norm = 0.0;
            for (var j = max(0, d - uniforms.depthRadius); j < min(depth, d + uniforms.depthRadius + 1); j++) {
              norm += getInputImage(b, r, c, j) * getInputImage(b, r, c, j);
            }
            norm = uniforms.alpha * norm + uniforms.bias;
            let dyd = getDy(b, r, c, d);
            sum += -2.0 * uniforms.alpha * uniforms.beta * getInputImage(b, r, c, k) *
              getOutputImage(b, r, c, d) / norm * dyd;
            if (d == k) {
              own = pow(norm, -1.0 * uniforms.beta) * dyd;
            }
          }
          setOutputAtIndex(index, own + sum);
        }
      }
    `,
  };
}

/** Registers our kernels for the 'webgpu' backend; `util` is the package's webgpu_util. */
export function registerWebgpuTrainingKernels(util: WebgpuUtil): void {
  if (tf.getKernel(tf.LRNGrad, 'webgpu')) tf.unregisterKernel(tf.LRNGrad, 'webgpu');
  tf.registerKernel({
    kernelName: tf.LRNGrad,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, y, dy } = inputs as unknown as Record<'x' | 'y' | 'dy', tf.TensorInfo>;
      const { depthRadius, bias, alpha, beta } = attrs as unknown as tf.LRNGradAttrs;
      return (backend as unknown as WebgpuBackend).runWebGPUProgram(
        lrnGradProgram(x.shape, util),
        [x, y, dy],
        x.dtype,
        [
          { type: 'int32', data: [depthRadius] },
          { type: 'float32', data: [bias] },
          { type: 'float32', data: [alpha] },
          { type: 'float32', data: [beta] },
        ],
      );
    },
  });
}
