import { copyFileSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import seedrandom from 'seedrandom';
import sharp from 'sharp';

export type CopyKind = 'exact' | 'jpeg60' | 'resize2x' | 'hflip';

export interface PlantedFaults {
  root: string;
  /** Train images moved into another class's folder: their file now, and their true class. */
  flipped: { path: string; trueClass: string; givenClass: string }[];
  /** Planted copies of train images, in train (same class) or in the test split (a leak). */
  copies: { original: string; copy: string; kind: CopyKind; split: 'train' | 'test' }[];
}

/** Where each kind of copy goes: two within train and one leaked into test, per kind. */
const COPY_PLAN: { kind: CopyKind; split: 'train' | 'test' }[] = (
  ['exact', 'jpeg60', 'resize2x', 'hflip'] as const
).flatMap((kind) => [
  { kind, split: 'train' as const },
  { kind, split: 'train' as const },
  { kind, split: 'test' as const },
]);

async function writeCopy(kind: CopyKind, from: string, to: string): Promise<void> {
  if (kind === 'exact') return copyFileSync(from, to);
  const image = sharp(from);
  if (kind === 'jpeg60') await image.jpeg({ quality: 60 }).toFile(to);
  else if (kind === 'hflip') await image.flop().jpeg({ quality: 95 }).toFile(to);
  else {
    const { width, height } = await image.metadata();
    await image
      .resize(width! * 2, height! * 2)
      .png()
      .toFile(to);
  }
}

/**
 * Copies a split-folders dataset (`SRC/train/<class>`, `SRC/test/<class>`) into `root` with
 * faults planted, reproducibly from `seed`: `flipShare` of the train images moved into a
 * random other class's folder (a wrong label), and twelve copies of other train images (exact,
 * JPEG quality 60, resized 2×, flipped horizontally; of each kind two within train and one in
 * the test split). Copies and flips never share an original.
 */
export async function plantFaults(
  source: string,
  root: string,
  options: { seed: number; flipShare: number },
): Promise<PlantedFaults> {
  const rng = seedrandom.alea(String(options.seed));
  const classes = readdirSync(path.join(source, 'train')).sort();
  const train: { cls: string; file: string }[] = [];
  for (const split of ['train', 'test']) {
    for (const cls of classes) {
      mkdirSync(path.join(root, split, cls), { recursive: true });
      for (const file of readdirSync(path.join(source, split, cls)).sort()) {
        copyFileSync(path.join(source, split, cls, file), path.join(root, split, cls, file));
        if (split === 'train') train.push({ cls, file });
      }
    }
  }
  // A seeded Fisher–Yates shuffle picks the flips first, then the copies' originals.
  for (let i = train.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [train[i], train[j]] = [train[j]!, train[i]!];
  }
  const flipCount = Math.round(options.flipShare * train.length);
  const flipped = train.slice(0, flipCount).map(({ cls, file }, i) => {
    const others = classes.filter((c) => c !== cls);
    const given = others[Math.floor(rng() * others.length)]!;
    const to = path.join(root, 'train', given, `moved-${i}${path.extname(file)}`);
    renameSync(path.join(root, 'train', cls, file), to);
    return { path: to, trueClass: cls, givenClass: given };
  });
  const copies: PlantedFaults['copies'] = [];
  for (const [i, plan] of COPY_PLAN.entries()) {
    const { cls, file } = train[flipCount + i]!;
    const original = path.join(root, 'train', cls, file);
    const ext = plan.kind === 'resize2x' ? '.png' : '.jpg';
    const copy = path.join(root, plan.split, cls, `copy-${i}-${plan.kind}${ext}`);
    await writeCopy(plan.kind, original, copy);
    copies.push({ original, copy, ...plan });
  }
  return { root, flipped, copies };
}
