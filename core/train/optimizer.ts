import * as tf from '@tensorflow/tfjs-core';
import { fusedSgdStep } from '../engine/fused-sgd.js';
import type { OptimConfig } from '../schema/run-config.js';

/** A trainable weight and whether it is a bias (for Caffe's bias rules). */
export interface Param {
  name: string;
  variable: tf.Variable;
  isBias: boolean;
}

/**
 * SGD as the paper writes it (section 5), plus Nesterov and Adam for comparison:
 *   sgd:      v ← μ·v − λ·ε·w − ε·∇L;   w ← w + v
 *   nesterov: v ← μ·v − λ·ε·w − ε·∇L;   w ← w + μ·v − λ·ε·w − ε·∇L
 *   adam:     g = ∇L + λ·w;  m ← β1·m + (1−β1)·g;  s ← β2·s + (1−β2)·g²;  w ← w − ε·m̂/(√ŝ + eps)
 * with μ momentum, λ weight decay, ε learning rate. Keeping v in the paper's form (ε inside)
 * means a learning-rate drop only affects new gradients, as in the paper and Caffe.
 * With `caffeBias`, biases use 2ε and no weight decay.
 */
export class Optimizer {
  private readonly slots: tf.Variable[][];
  private steps = 0;

  constructor(
    private readonly config: OptimConfig,
    private readonly params: Param[],
  ) {
    const count = config.type === 'adam' ? 2 : 1;
    this.slots = params.map((p) =>
      Array.from({ length: count }, () => {
        const zeros = tf.zerosLike(p.variable);
        // tfjs variable names are global to the process, so checkpoints use slotName() instead.
        const slot = tf.variable(zeros, false);
        zeros.dispose();
        return slot;
      }),
    );
  }

  /** One update with the gradients of `params` (keyed by variable name) at learning rate `lr`. */
  apply(grads: tf.NamedTensorMap, lr: number): void {
    this.steps++;
    const { type, momentum: mu, weightDecay, caffeBias, beta1, beta2, epsilon } = this.config;
    // One tidy per parameter: each intermediate is as large as its weight (fc6's are 151 MB),
    // and freeing them before the next parameter keeps the peak at one weight's worth and lets
    // the allocator reuse the same blocks instead of growing and touching fresh memory.
    this.params.forEach((p, i) => {
      tf.tidy(() => {
        const g = grads[p.variable.name];
        if (!g) throw new Error(`no gradient for ${p.name}`);
        const eps = caffeBias && p.isBias ? 2 * lr : lr;
        const decay = caffeBias && p.isBias ? 0 : weightDecay;
        const w = p.variable;
        const slots = this.slots[i]!;
        if (type === 'adam') {
          const gd = decay ? tf.add(g, tf.mul(w, decay)) : g;
          const [m, s] = slots as [tf.Variable, tf.Variable];
          m.assign(tf.add(tf.mul(m, beta1), tf.mul(gd, 1 - beta1)));
          s.assign(tf.add(tf.mul(s, beta2), tf.mul(tf.square(gd), 1 - beta2)));
          const mHat = tf.div(m, 1 - beta1 ** this.steps);
          const sHat = tf.div(s, 1 - beta2 ** this.steps);
          w.assign(tf.sub(w, tf.mul(tf.div(mHat, tf.add(tf.sqrt(sHat), epsilon)), eps)));
          return;
        }
        const v = slots[0]!;
        // One pass over the weight where the backend has the kernel (wasm): the same floats.
        const fused = fusedSgdStep(w, g, v, { eps, decay, mu, nesterov: type === 'nesterov' });
        if (fused) {
          v.assign(fused[1]);
          w.assign(fused[0]);
          return;
        }
        // −λ·ε·w − ε·∇L
        const step = tf.mul(tf.add(g, tf.mul(w, decay)), -eps);
        v.assign(tf.add(tf.mul(v, mu), step));
        w.assign(type === 'nesterov' ? tf.add(w, tf.add(tf.mul(v, mu), step)) : tf.add(w, v));
      });
    });
  }

  /** Optimizer state for checkpoints: the slot tensors, named, and the step count. */
  state(): { steps: number; tensors: { name: string; tensor: tf.Tensor }[] } {
    return {
      steps: this.steps,
      tensors: this.slots.flatMap((slots, p) =>
        slots.map((v, i) => ({ name: this.slotName(p, i), tensor: v as tf.Tensor })),
      ),
    };
  }

  /** Restores state saved by state(); names and shapes must match. */
  restore(steps: number, tensors: Map<string, tf.Tensor>): void {
    this.slots.forEach((slots, p) =>
      slots.forEach((v, i) => {
        const name = this.slotName(p, i);
        const t = tensors.get(name);
        if (!t) throw new Error(`checkpoint has no optimizer state for ${name}`);
        if (t.shape.join() !== v.shape.join()) {
          throw new Error(`optimizer state for ${name} has the wrong shape`);
        }
        v.assign(t);
      }),
    );
    this.steps = steps;
  }

  private slotName(param: number, slot: number): string {
    return `${this.params[param]!.name}/slot${slot}`;
  }

  dispose(): void {
    for (const slots of this.slots) for (const v of slots) v.dispose();
  }
}
