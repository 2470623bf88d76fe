import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { dropoutMask, KeyedDropout } from '../../core/train/dropout.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const key = { seed: 3, step: 17, layer: 0, rowOffset: 0 };

describe('dropout masks keyed by image', () => {
  it('drop about `rate` of the units and scale the rest like tf.dropout', () => {
    const mask = dropoutMask(0.5, 64, 1024, key);
    const dropped = mask.filter((v) => v === 0).length / mask.length;
    expect(dropped).toBeGreaterThan(0.49);
    expect(dropped).toBeLessThan(0.51);
    expect(new Set(mask)).toEqual(new Set([0, 2]));
    const light = dropoutMask(0.1, 64, 1024, key);
    expect(light.filter((v) => v === 0).length / light.length).toBeCloseTo(0.1, 1);
  });

  it('give a row the same mask whichever share of the batch it is in', () => {
    const whole = dropoutMask(0.5, 10, 32, key);
    const tail = dropoutMask(0.5, 4, 32, { ...key, rowOffset: 6 });
    expect(Array.from(tail)).toEqual(Array.from(whole.subarray(6 * 32)));
  });

  it('differ from step to step, layer to layer and seed to seed', () => {
    const base = Array.from(dropoutMask(0.5, 8, 64, key));
    for (const other of [{ step: 18 }, { layer: 1 }, { seed: 4 }])
      expect(Array.from(dropoutMask(0.5, 8, 64, { ...key, ...other }))).not.toEqual(base);
    expect(Array.from(dropoutMask(0.5, 8, 64, key))).toEqual(base);
  });

  it("replace a model's dropout in training only", () => {
    const input = tfl.input({ shape: [16] });
    const out = tfl.layers.dropout({ rate: 0.5 }).apply(input) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    const dropout = new KeyedDropout(model);
    expect(dropout.layers).toBe(1);
    dropout.setStep(3, 17, 2);
    const x = tf.ones([4, 16]);
    const trained = (model.apply(x, { training: true }) as tf.Tensor).dataSync();
    expect(Array.from(trained)).toEqual(
      Array.from(dropoutMask(0.5, 4, 16, { seed: 3, step: 17, layer: 0, rowOffset: 2 })),
    );
    expect(Array.from((model.apply(x) as tf.Tensor).dataSync())).toEqual(new Array(64).fill(1));
    // The saved model still has tfjs's own Dropout layer.
    expect(model.layers[1]!.getClassName()).toBe('Dropout');
    model.dispose();
  });
});
