import { describe, expect, it } from 'vitest';
import { writeCrop } from '../../core/model/input.js';
import { cropOffsets, preprocessingFor } from '../../core/model/preprocessing.js';
import { evalCrops } from '../../core/model/infer.js';
import { presetConfig } from '../../core/schema/model-config.js';

/** A w×h RGB image whose pixel (x, y) is (x, y, 7). */
function coordinateImage(w: number, h: number) {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) data.set([x, y, 7], (y * w + x) * 3);
  }
  return { data, width: w, height: h };
}

const pixelAt = (out: Float32Array, size: number, x: number, y: number) =>
  Array.from(out.subarray((y * size + x) * 3, (y * size + x) * 3 + 3));

describe('writeCrop', () => {
  const image = coordinateImage(10, 8);

  it('copies the crop at [top, left] and subtracts the mean pixel', () => {
    const out = new Float32Array(4 * 4 * 3);
    writeCrop(
      image,
      { top: 3, left: 2, size: 4, flip: false },
      { type: 'pixel', values: [1, 2, 3] },
      1,
      out,
    );
    expect(pixelAt(out, 4, 0, 0)).toEqual([2 - 1, 3 - 2, 7 - 3]);
    expect(pixelAt(out, 4, 3, 2)).toEqual([5 - 1, 5 - 2, 4]);
  });

  it('mirrors the crop left to right when flipped', () => {
    const out = new Float32Array(4 * 4 * 3);
    writeCrop(
      image,
      { top: 3, left: 2, size: 4, flip: true },
      { type: 'pixel', values: [0, 0, 0] },
      1,
      out,
    );
    expect(pixelAt(out, 4, 0, 0)).toEqual([5, 3, 7]);
    expect(pixelAt(out, 4, 3, 0)).toEqual([2, 3, 7]);
  });

  it('subtracts a mean image at the same place as the crop, then scales', () => {
    const mean = new Float32Array(10 * 8 * 3).map((_, i) => i);
    const out = new Float32Array(2 * 2 * 3);
    writeCrop(
      image,
      { top: 1, left: 1, size: 2, flip: false },
      { type: 'image', data: mean, width: 10 },
      0.5,
      out,
    );
    const idx = (1 * 10 + 1) * 3;
    expect(pixelAt(out, 2, 0, 0)).toEqual([
      (1 - idx) * 0.5,
      (1 - idx - 1) * 0.5,
      (7 - idx - 2) * 0.5,
    ]);
  });

  it('refuses a crop outside the image', () => {
    expect(() =>
      writeCrop(
        image,
        { top: 6, left: 0, size: 4, flip: false },
        { type: 'pixel', values: [0, 0, 0] },
        1,
        new Float32Array(48),
      ),
    ).toThrow(/outside/);
  });
});

describe('crop offsets', () => {
  it('gives the paper 227-in-256 centre and corner crops', () => {
    expect(cropOffsets(256, 227)).toEqual({
      centre: [14, 14],
      tenCrop: [
        [0, 0],
        [0, 29],
        [29, 0],
        [29, 29],
        [14, 14],
      ],
    });
  });

  it('ten-crop is the five crops and their flips', () => {
    const crops = evalCrops(preprocessingFor(presetConfig('alexnet-cifar')), true);
    expect(crops).toHaveLength(10);
    expect(crops.filter((c) => c.flip)).toHaveLength(5);
    expect(crops.map((c) => [c.top, c.left])).toContainEqual([8, 8]);
    expect(evalCrops(preprocessingFor(presetConfig('alexnet-cifar')), false)).toEqual([
      { top: 4, left: 4, size: 24, flip: false },
    ]);
  });
});
