/**
 * Why an import left a file or folder out. Every skipped path is reported with one of these
 * (plus detail where it helps, e.g. the image size), so users can fix their folders.
 */
export const SKIP_REASONS = {
  emptyFile: 'empty file',
  notImage: 'not an image',
  unsupportedFormat: 'unsupported image format',
  corrupt: 'truncated or corrupt image',
  tooLarge: 'image too large',
  emptyClass: 'empty class folder',
  hidden: 'hidden file',
  symlinkLoop: 'symlink loop',
  unreadable: 'unreadable',
  /** A file beside the class folders (e.g. directly in an ImageFolder's root), so it has no label. */
  notInClass: 'not in a class folder',
} as const;

export type SkipReason = (typeof SKIP_REASONS)[keyof typeof SKIP_REASONS];

export interface Skipped {
  path: string;
  reason: SkipReason;
  /** Extra facts, e.g. "10000×10000 pixels" or the decoder's message. */
  detail?: string;
}

/** Counts by reason, e.g. "3 empty file, 1 symlink loop". */
export function summarizeSkips(skipped: readonly { reason: string }[]): string {
  const counts = new Map<string, number>();
  for (const s of skipped) counts.set(s.reason, (counts.get(s.reason) ?? 0) + 1);
  return [...counts].map(([reason, n]) => `${n} ${reason}`).join(', ');
}
