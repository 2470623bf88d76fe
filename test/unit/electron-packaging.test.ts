import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
// electron-builder matches asarUnpack with minimatch (app-builder-lib depends on it).
import { minimatch } from 'minimatch';
import { describe, expect, it } from 'vitest';
import { unpackedPath } from '../../core/util/module-path.js';

const root = path.resolve(import.meta.dirname, '../..');
const builderConfig = readFileSync(
  path.resolve(import.meta.dirname, '../../electron-builder.yml'),
  'utf8',
);

/** The entries of a top-level list in electron-builder.yml (a block of `  - item` lines, comments between). */
function list(key: string): string[] {
  const block =
    new RegExp(`^${key}:\\n((?:[ \\t]+[-#].*\\n?)+)`, 'm').exec(builderConfig)?.[1] ?? '';
  return block
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
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

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

const code = [...sources(path.join(root, 'core')), ...sources(path.join(root, 'electron'))].map(
  (file) => ({ file, text: readFileSync(file, 'utf8') }),
);

/** The .ts source beside `file` that a compiled-path argument ('./batch-worker.js') names. */
const sourceOf = (file: string, relativeJs: string) =>
  path.resolve(path.dirname(file), relativeJs).replace(/\.js$/, '.ts');

/** Worker entries in the code: thread entries and process entries, as .ts sources. */
function workerEntries() {
  const threads = new Set<string>();
  const processes = new Set<string>();
  for (const { file, text } of code) {
    for (const m of text.matchAll(/workerThreadPath\(\s*import\.meta\.url,\s*'([^']+\.js)'\s*\)/g))
      threads.add(sourceOf(file, m[1]!));
    for (const m of text.matchAll(
      /compiledModulePath\(\s*import\.meta\.url,\s*'([^']+\.js)'\s*\)/g,
    ))
      processes.add(sourceOf(file, m[1]!));
  }
  return { threads: [...threads], processes: [...processes] };
}

const dist = (source: string) =>
  path.relative(root, path.join(root, 'dist', path.relative(root, source))).replace(/\.ts$/, '.js');

/** A source's runtime imports (type-only ones are erased): relative sources and package names. */
function imports(source: string): { local: string[]; packages: string[] } {
  const text = readFileSync(source, 'utf8');
  const specs = [
    ...text.matchAll(/(?:^|[\s;])(import|export)\s(?!type\s)[^'"`;]*?\sfrom\s*'([^']+)'/g),
    ...text.matchAll(/(?:^|[\s;])import\s*'([^']+)'/g),
    ...text.matchAll(/\bimport\s*\(\s*'([^']+)'\s*\)/g),
  ].map((m) => m.at(-1)!);
  return {
    local: specs.filter((s) => s.startsWith('.')).map((s) => sourceOf(source, s)),
    packages: specs
      .filter((s) => !s.startsWith('.') && !s.startsWith('node:'))
      .map((s) =>
        s
          .split('/')
          .slice(0, s.startsWith('@') ? 2 : 1)
          .join('/'),
      ),
  };
}

/** Every file and package a thread entry loads, our sources and npm packages with their dependencies. */
function closure(entry: string) {
  const files = new Set<string>();
  const packages = new Set<string>();
  const addPackage = (name: string) => {
    if (packages.has(name)) return;
    packages.add(name);
    const manifest = path.join(root, 'node_modules', name, 'package.json');
    const deps = (JSON.parse(readFileSync(manifest, 'utf8')) as { dependencies?: object })
      .dependencies;
    for (const dep of Object.keys(deps ?? {})) addPackage(dep);
  };
  const visit = (source: string) => {
    if (files.has(source)) return;
    files.add(source);
    const found = imports(source);
    found.local.forEach(visit);
    found.packages.forEach(addPackage);
  };
  visit(entry);
  return { files: [...files], packages: [...packages] };
}

const unpacked = (p: string) =>
  list('asarUnpack').some((glob) => minimatch(p, glob, { dot: true }));

describe('worker entries in the packaged app', () => {
  const { threads, processes } = workerEntries();

  it('finds the batch worker thread and the job worker process in the code', () => {
    expect(threads.map((t) => path.relative(root, t))).toContain('core/data/batch-worker.ts');
    expect(processes.map((t) => path.relative(root, t))).toContain('core/jobs/worker.ts');
    for (const entry of [...threads, ...processes]) expect(existsSync(entry), entry).toBe(true);
  });

  it('starts every worker thread from workerThreadPath (the unpacked copy)', () => {
    const starts = code.flatMap(({ file, text }) =>
      [...text.matchAll(/new Worker\(\s*([\w.]+)/g)].map(
        (m) => `${path.relative(root, file)}: ${m[1]}`,
      ),
    );
    expect(starts.length).toBeGreaterThan(0);
    expect(starts.filter((s) => !s.endsWith(': workerThreadPath'))).toEqual([]);
  });

  it('unpacks every worker entry', () => {
    expect([...threads, ...processes].map(dist).filter((p) => !unpacked(p))).toEqual([]);
  });

  it('unpacks all that a thread loads: our modules, the package.json that makes them ES modules, and npm packages', () => {
    expect(unpacked('package.json')).toBe(true);
    for (const entry of threads) {
      const { files, packages } = closure(entry);
      expect(files.length).toBeGreaterThan(1);
      expect(files.map(dist).filter((p) => !unpacked(p))).toEqual([]);
      expect(
        packages.map((name) => `node_modules/${name}/package.json`).filter((p) => !unpacked(p)),
      ).toEqual([]);
    }
  });

  it('would notice a package left packed', () => {
    expect(unpacked('node_modules/zod/package.json')).toBe(true);
    expect(unpacked('node_modules/commander/package.json')).toBe(false);
    expect(unpacked('dist/electron/main.js')).toBe(false);
  });
});

/** Files under `dir` (a folder of an npm package), as paths relative to the repository. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(full) : [path.relative(root, full)];
  });
}

describe('native modules in the packaged app', () => {
  // Every npm package our code imports, statically or dynamically (the engines load theirs late).
  const imported = new Set(code.flatMap(({ file }) => imports(file).packages));
  const natives = [...imported]
    .map((name) => ({ name, files: filesUnder(path.join(root, 'node_modules', name)) }))
    .filter((p) => p.files.some((f) => f.endsWith('.node')));

  it('finds the native modules the code imports, Dawn among them', () => {
    expect(natives.map((p) => p.name)).toEqual(
      expect.arrayContaining(['webgpu', 'better-sqlite3']),
    );
  });

  it('unpacks every .node file with the libraries beside it (dawn.node needs its DLLs on Windows)', () => {
    const packed = natives.flatMap(({ files }) => {
      const dirs = new Set(files.filter((f) => f.endsWith('.node')).map((f) => path.dirname(f)));
      return files.filter((f) => dirs.has(path.dirname(f)) && !unpacked(f));
    });
    expect(packed).toEqual([]);
  });
});
