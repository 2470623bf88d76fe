import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

let seed = 1;

/** Standard-normal values of a shape, from a fresh seed each call (reproducible per test file). */
export function randomArray(shape: number[]): number[] {
  const t = tf.randomNormal(shape, 0, 1, 'float32', seed++);
  const values = Array.from(t.dataSync());
  t.dispose();
  return values;
}

/**
 * Relative error = max|actual − expected| / max|expected| (max over all elements); the plain
 * difference when `expected` is all zeros.
 */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
    maxRef = Math.max(maxRef, Math.abs(expected[i]!));
  }
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

/** Restarts the seed sequence, so a test gets the same data whichever tests ran before it. */
export function reseed(value: number): void {
  seed = value;
}
