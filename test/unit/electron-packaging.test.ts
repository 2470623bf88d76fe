import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { unpackedPath } from '../../core/util/module-path.js';

const builderConfig = readFileSync(
  path.resolve(import.meta.dirname, '../../electron-builder.yml'),
  'utf8',
);

/** The entries of a top-level list in electron-builder.yml (a block of `  - item` lines). */
function list(key: string): string[] {
  const block = new RegExp(`^${key}:\\n((?:[ \\t]+-.*\\n?)+)`, 'm').exec(builderConfig)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.replace(/^\s*-\s*/, '').replace(/^'(.*)'$/, '$1'))
    .filter(Boolean);
}

describe('packaging', () => {
  it('ships what the app needs at run time', () => {
    expect(list('files')).toEqual(
      expect.arrayContaining(['dist/**', 'migrations/**', 'demo/**', 'package.json']),
    );
  });

  it('unpacks native modules, their libraries and files read by native code', () => {
    expect(list('asarUnpack')).toEqual(
      expect.arrayContaining([
        '**/node_modules/better-sqlite3/**',
        '**/node_modules/@tensorflow/tfjs-node*/**',
        '**/node_modules/sharp/**',
        '**/node_modules/@img/**',
        '**/*.node',
        'demo/**',
      ]),
    );
    expect(builderConfig).toMatch(/^npmRebuild: true$/m);
  });

  it('unpackedPath points paths inside app.asar at app.asar.unpacked', () => {
    expect(unpackedPath('/opt/SuperVision/resources/app.asar/demo/cifar10-demo')).toBe(
      '/opt/SuperVision/resources/app.asar.unpacked/demo/cifar10-demo',
    );
    expect(unpackedPath('C:\\Program Files\\SVW\\resources\\app.asar')).toBe(
      'C:\\Program Files\\SVW\\resources\\app.asar.unpacked',
    );
    for (const unchanged of [
      '/home/me/work/main/demo/cifar10-demo',
      '/opt/app.asar.unpacked/demo',
      '/data/my.app.asar.d/x',
    ]) {
      expect(unpackedPath(unchanged)).toBe(unchanged);
    }
  });
});
