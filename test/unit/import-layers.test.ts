import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORE_LAYERS } from '../../core/layers.js';

const root = path.resolve(import.meta.dirname, '../..');
const core = path.join(root, 'core');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every module specifier of a file: static imports and re-exports, side-effect and dynamic imports. */
export function specifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /(?:^|[\s;])(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/g,
    /(?:^|[\s;])import\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of text.matchAll(pattern)) found.push(m[1]!);
  return found;
}

/** The core layer a file belongs to, or null for a file outside core/ or at its top. */
function layerOf(file: string): string | null {
  const rel = path.relative(core, file);
  if (rel.startsWith('..')) return null;
  const parts = rel.split(path.sep);
  return parts.length > 1 ? parts[0]! : null;
}

const rank = (layer: string) => (CORE_LAYERS as readonly string[]).indexOf(layer);

/** Imports that point up the layer order or out of core/, as "file → specifier" lines. */
function violations(): string[] {
  const bad: string[] = [];
  for (const file of sources(core)) {
    const from = layerOf(file);
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), spec);
      const to = layerOf(target);
      const where = `${path.relative(root, file)} → ${spec}`;
      if (!target.startsWith(core + path.sep)) bad.push(`${where} (outside core/)`);
      else if (from !== null && to !== null && rank(to) > rank(from))
        bad.push(`${where} (${from} may not import ${to})`);
    }
  }
  return bad;
}

describe('core import layers', () => {
  it('places every folder of core/ in the layer order', () => {
    const folders = readdirSync(core, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(folders.filter((f) => rank(f) < 0)).toEqual([]);
    expect([...CORE_LAYERS].sort()).toEqual([...folders].sort());
  });

  it('has no import up the layers or out of core/', () => {
    expect(violations()).toEqual([]);
  });

  it('reads every form of import the code uses', () => {
    const text = [
      "import { a } from '../store/db.js';",
      "import type { B } from '../api/contract.js';",
      "export { c } from './c.js';",
      "export * from '../jobs/host.js';",
      "import '../engine/wasm.js';",
      "const m = await import('../cli/main.js');",
      "import {\n  d,\n  e,\n} from '../train/config.js';",
    ].join('\n');
    expect(specifiers(text).sort()).toEqual(
      [
        '../api/contract.js',
        '../cli/main.js',
        '../engine/wasm.js',
        '../jobs/host.js',
        '../store/db.js',
        '../train/config.js',
        './c.js',
      ].sort(),
    );
  });
});
