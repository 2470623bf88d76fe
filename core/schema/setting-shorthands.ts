import { UserError } from '../util/errors.js';
import { LRN_MODES } from './model-config.js';
import type { SettingGroup } from './setting-meta.js';

/** A `--set` key that sets several settings at once (`lrn=off`, `pool=2/2`). */
export interface ShorthandDescriptor {
  key: string;
  group: SettingGroup;
  help: string;
  /** Values to show and to try when spelling a config as settings: all, or the usual ones. */
  examples: string[];
  /** The setting keys it sets. */
  sets: string[];
}

export interface Shorthand extends ShorthandDescriptor {
  /** The settings `key=raw` stands for; a UserError for a value it does not take. */
  expand(raw: string): string[];
}

/** The whole LRN block behind each mode: the paper's k=2 and α, or Caffe's k=1 with α/n. */
const LRN_BLOCKS: Record<string, Record<string, string | number>> = {
  paper: { mode: 'paper', size: 5, k: 2, alpha: 1e-4, beta: 0.75 },
  caffe: { mode: 'caffe', size: 5, k: 1, alpha: 1e-4, beta: 0.75 },
  off: { mode: 'off', size: 5, k: 2, alpha: 1e-4, beta: 0.75 },
} satisfies Record<(typeof LRN_MODES)[number], object>;

export const SHORTHANDS: Shorthand[] = [
  {
    key: 'lrn',
    group: 'model',
    help: 'LRN as the paper has it (k=2, α=1e-4), as Caffe has it (k=1, α/n), or off',
    examples: [...LRN_MODES],
    sets: Object.keys(LRN_BLOCKS.paper!).map((k) => `lrn.${k}`),
    expand(raw) {
      const block = Object.hasOwn(LRN_BLOCKS, raw.trim()) ? LRN_BLOCKS[raw.trim()] : undefined;
      if (!block) throw new UserError(`bad --set lrn=${raw}: choose ${LRN_MODES.join(', ')}`);
      return Object.entries(block).map(([k, v]) => `lrn.${k}=${v}`);
    },
  },
  {
    key: 'pool',
    group: 'model',
    help: "max-pooling as size/stride: the paper's overlapping 3/2, or the traditional 2/2",
    examples: ['3/2', '2/2'],
    sets: ['pool.size', 'pool.stride'],
    expand(raw) {
      const m = /^(\d+)\/(\d+)$/.exec(raw.trim());
      if (!m) throw new UserError(`bad --set pool=${raw}: expected size/stride, e.g. 3/2 or 2/2`);
      return [`pool.size=${m[1]}`, `pool.stride=${m[2]}`];
    },
  },
];
