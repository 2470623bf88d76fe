import { readFileSync, readdirSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNpyInfo } from '../../core/util/npy.js';
import { IMAGENET_SAMPLES, svw, svwJson, tempDir } from '../helpers/cli.js';

interface Summary {
  params: number;
  layers: { name: string; outputShape: number[]; params: number }[];
}
interface Prediction {
  image: string;
  top: { label: string; index: number; prob: number }[];
  logits?: number[];
}

const tmp = tempDir();
const paperDir = path.join(tmp.dir, 'paper');
const cifarDir = path.join(tmp.dir, 'cifar');
const samples = readdirSync(IMAGENET_SAMPLES).sort();
const grayscale = path.join(IMAGENET_SAMPLES, 'n03908714_pencil_sharpener.JPEG');

const CLASSES = { 'alexnet-paper': 1000, 'alexnet-cifar': 10 };
/** `svw model init` of a preset with its usual class count, seeded when a seed is given. */
const initArgs = (preset: keyof typeof CLASSES, out: string, seed?: number) => [
  ...['model', 'init', '--preset', preset, '--classes', String(CLASSES[preset])],
  ...(seed === undefined ? [] : ['--seed', String(seed)]),
  ...['--out', out],
];
const summary = (...args: string[]) => svwJson<Summary>(['model', 'summary', ...args, '--json']);
const predict = (model: string, ...args: string[]) =>
  svwJson<Prediction[]>(['predict', '--model', model, '--json', ...args]);

beforeAll(() => {
  svwJson([...initArgs('alexnet-paper', paperDir, 1), '--json']);
  svwJson([...initArgs('alexnet-cifar', cifarDir, 1), '--json']);
});
afterAll(() => tmp.cleanup());

describe('svw doctor', () => {
  it('lists every rung of the engine ladder, picks the first that loads, and describes the machine', () => {
    const d = svwJson<{
      auto: string;
      backends: {
        name: string;
        available: boolean;
        auto: boolean;
        version?: string;
        reason?: string;
        adapter?: { software: boolean };
      }[];
      system: {
        cpuCores: number;
        memoryGiB: number;
        gpus: unknown[] | null;
        adapters: { description: string; software: boolean }[] | string;
      };
    }>(['doctor', '--json']);
    expect(d.backends.map((b) => b.name)).toEqual([
      'tensorflow-gpu',
      'webgpu',
      'tensorflow',
      'wasm',
      'cpu',
    ]);
    expect(d.backends.find((b) => b.name === 'wasm')).toMatchObject({
      available: true,
      auto: true,
      version: '4.22.0',
    });
    expect(d.auto).toBe(d.backends.find((b) => b.auto)!.name);
    // webgpu on a software adapter (lavapipe) loads by name, and auto passes it over.
    const webgpu = d.backends.find((b) => b.name === 'webgpu')!;
    if (webgpu.adapter) expect(webgpu.auto).toBe(!webgpu.adapter.software);
    if (typeof d.system.adapters !== 'string')
      expect(webgpu.available).toBe(d.system.adapters.length > 0);
    for (const b of d.backends.filter((b) => !b.available)) expect(b.reason).toMatch(/\S/);
    expect(d.system.cpuCores).toBeGreaterThan(0);
    const text = svw(['doctor']);
    expect(text.stdout).toMatch(/Engines/);
    expect(text.stdout).toMatch(/CPU: .*cores/);
  });
});

describe('svw model summary', () => {
  it('reports the paper network: 60,965,224 parameters and the paper output shapes', () => {
    const s = summary('--preset', 'alexnet-paper', '--classes', '1000');
    expect(s.params).toBe(60_965_224);
    const shape = (name: string) => s.layers.find((l) => l.name === name)?.outputShape;
    expect(shape('conv1')).toEqual([55, 55, 96]);
    expect(shape('pool5')).toEqual([6, 6, 256]);
    expect(shape('fc7')).toEqual([4096]);
    expect(s.layers.reduce((sum, l) => sum + l.params, 0)).toBe(s.params);
  });

  it('applies --set ablations', () => {
    const s = summary('--preset', 'alexnet-paper', '--set', 'lrn=off', '--set', 'classes=10');
    expect(s.layers.map((l) => l.name)).not.toContain('lrn1');
    expect(s.layers.at(-1)?.outputShape).toEqual([10]);
  });
});

describe('svw model init', () => {
  it('exports model.json, weights, labels.json and preprocessing.json with the crop offsets', () => {
    expect(readdirSync(paperDir).sort()).toEqual([
      'labels.json',
      'model.json',
      'preprocessing.json',
      'weights.bin',
    ]);
    const pre = JSON.parse(readFileSync(path.join(paperDir, 'preprocessing.json'), 'utf8'));
    expect(pre.inputSize).toBe(227);
    expect(pre.resize).toEqual({ shorterSide: 256, crop: 'centre', size: 256 });
    expect(pre.evalCrop).toEqual({ size: 227, offset: [14, 14] });
    expect(pre.tenCrop.offsets).toEqual([
      [0, 0],
      [0, 29],
      [29, 0],
      [29, 29],
      [14, 14],
    ]);
    expect(pre.channelOrder).toBe('RGB');
    expect(pre.mean.type).toBe('pixel');
    const labels = JSON.parse(readFileSync(path.join(paperDir, 'labels.json'), 'utf8'));
    expect(labels).toHaveLength(1000);
  });

  it('is deterministic for a seed', () => {
    const again = path.join(tmp.dir, 'cifar-again');
    const other = path.join(tmp.dir, 'cifar-other');
    svwJson([...initArgs('alexnet-cifar', again, 1), '--json']);
    svwJson([...initArgs('alexnet-cifar', other, 2), '--json']);
    const weights = (dir: string) => readFileSync(path.join(dir, 'weights.bin'));
    expect(weights(again).equals(weights(cifarDir))).toBe(true);
    expect(weights(other).equals(weights(cifarDir))).toBe(false);
  });

  it('refuses to overwrite a model without --force', () => {
    const r = svw(initArgs('alexnet-cifar', cifarDir));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/not empty/);
  });
});

describe('svw predict', () => {
  it('classifies every ImageNet sample, grayscale included', () => {
    const out = predict(paperDir, '--top', '5', IMAGENET_SAMPLES);
    expect(out.map((p) => path.basename(p.image))).toEqual(samples);
    for (const p of out) {
      expect(p.top).toHaveLength(5);
      expect(p.top.map((t) => t.label)).toEqual(p.top.map((t) => `class_${t.index}`));
      const probs = p.top.map((t) => t.prob);
      expect([...probs].sort((a, b) => b - a)).toEqual(probs);
      expect(probs.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-5);
    }
  });

  it('reports logits whose softmax gives the reported probabilities', () => {
    const [p] = predict(cifarDir, '--top', '3', '--logits', grayscale);
    const logits = p!.logits!;
    expect(logits).toHaveLength(10);
    const max = Math.max(...logits);
    const exp = logits.map((v) => Math.exp(v - max));
    const total = exp.reduce((a, b) => a + b, 0);
    for (const t of p!.top) expect(t.prob).toBeCloseTo(exp[t.index]! / total, 5);
  });

  it('averages ten crops, which differs from the single centre crop', () => {
    const image = path.join(IMAGENET_SAMPLES, samples[0]!);
    const [one] = predict(cifarDir, '--top', '10', image);
    const [ten] = predict(cifarDir, '--top', '10', '--ten-crop', image);
    const probsOf = (p: Prediction) => p.top.sort((a, b) => a.index - b.index).map((t) => t.prob);
    expect(probsOf(ten!).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(probsOf(ten!)).not.toEqual(probsOf(one!));
  });
});

describe('svw features', () => {
  it('writes float32 [N, 4096] fc7 activations and the image list in row order', () => {
    const images = samples.slice(0, 6).map((f) => path.join(IMAGENET_SAMPLES, f));
    const dup = path.join(tmp.dir, 'dup');
    mkdirSync(dup);
    copyFileSync(images[0]!, path.join(dup, 'copy.jpg'));
    const out = path.join(tmp.dir, 'feats.npy');
    svwJson(['features', '--model', paperDir, '--out', out, '--json', ...images, dup]);
    const info = readNpyInfo(out);
    expect(info.dtype).toBe('<f4');
    expect(info.shape).toEqual([7, 4096]);
    const list = JSON.parse(readFileSync(out.replace(/\.npy$/, '.json'), 'utf8'));
    expect(list).toEqual([...images, path.join(dup, 'copy.jpg')]);
    const buf = readFileSync(out);
    const data = new Float32Array(
      buf.buffer.slice(buf.byteOffset + info.dataOffset, buf.byteOffset + buf.byteLength),
    );
    expect(data.length).toBe(7 * 4096);
    expect(data.every((v) => v >= 0 && Number.isFinite(v))).toBe(true); // post-ReLU
    expect(data.some((v) => v > 0)).toBe(true);
    expect(data.slice(0, 4096)).toEqual(data.slice(6 * 4096)); // same image, same row
    expect(data.slice(0, 4096)).not.toEqual(data.slice(4096, 8192));
  });
});

describe('bad input', () => {
  const expectOneLineError = (args: string[], pattern: RegExp) => {
    const r = svw(args);
    expect(r.code).not.toBe(0);
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('engine:') && !l.startsWith('  skipped'));
    expect(lines[0]).toMatch(pattern);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    return r;
  };

  it('gives one clear line for each kind of mistake', () => {
    expectOneLineError(
      ['predict', '--model', paperDir, '/no/such/file.jpg'],
      /no such file or directory: \/no\/such\/file\.jpg/,
    );
    const notImage = path.join(tmp.dir, 'notes.jpg');
    writeFileSync(notImage, 'this is not a jpeg');
    expectOneLineError(
      ['predict', '--model', cifarDir, notImage],
      /cannot read image .*notes\.jpg/,
    );
    expectOneLineError(
      ['predict', '--model', tmp.dir, grayscale],
      /not a model directory: model\.json is missing/,
    );
    expectOneLineError(['model', 'summary', '--preset', 'vgg16'], /unknown preset 'vgg16'/);
    expectOneLineError(
      ['model', 'summary', '--preset', 'alexnet-paper', '--frobnicate'],
      /unknown option '--frobnicate'/,
    );
    expectOneLineError(
      ['model', 'summary', '--preset', 'alexnet-paper', '--set', 'dropout=abc'],
      /dropout/,
    );
    expectOneLineError(
      ['model', 'summary', '--preset', 'alexnet-paper', '--set', 'groups'],
      /expected key=value/,
    );
    expectOneLineError(
      ['predict', '--model', cifarDir, '--backend', 'tpu', grayscale],
      /unknown backend 'tpu'/,
    );
    expectOneLineError(
      ['features', '--model', cifarDir, '--out', path.join(tmp.dir, 'x.bin'), grayscale],
      /must end in \.npy/,
    );
  });

  it('prints the stack trace only with --verbose', () => {
    const r = svw(['--verbose', 'predict', '--model', path.join(tmp.dir, 'nope'), grayscale]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^\s+at /m);
  });

  it('refuses a model directory whose files were tampered with', () => {
    const tampered = path.join(tmp.dir, 'tampered');
    svwJson([...initArgs('alexnet-cifar', tampered, 3), '--json']);
    const weightsFile = path.join(tampered, 'weights.bin');
    const weights = readFileSync(weightsFile);
    weights[100] = weights[100]! ^ 0xff;
    writeFileSync(weightsFile, weights);
    expectOneLineError(['predict', '--model', tampered, grayscale], /checksum/);
    writeFileSync(weightsFile, weights.subarray(0, 1000));
    expectOneLineError(['predict', '--model', tampered, grayscale], /truncated or tampered/);
    writeFileSync(path.join(tampered, 'model.json'), '{"format": "layers-model"');
    expectOneLineError(
      ['predict', '--model', tampered, grayscale],
      /model\.json is not valid JSON/,
    );
  });
});
