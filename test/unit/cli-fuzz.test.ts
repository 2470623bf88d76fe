import seedrandom from 'seedrandom';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../core/cli/main.js';
import { tempDir } from '../helpers/cli.js';

// Generated bad command lines for every command that only reads, checks or refuses: wrong
// types, negative and huge numbers, traversal, unknown flags and runs. Each must end with a
// clear error and exit code 1 or 2 (or succeed, when it happens to be valid) — never a stack
// trace, never a crash.
const INVOCATIONS = 1000;
const random = seedrandom('svw-cli-fuzz');
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const COMMANDS = [
  ['train'],
  ['eval'],
  ['dataset', 'import'],
  ['dataset', 'show'],
  ['dataset', 'remove'],
  ['runs', 'show'],
  ['runs', 'list'],
  ['runs', 'compare'],
  ['runs', 'delete'],
  ['runs', 'tag'],
  ['runs', 'note'],
  ['search'],
  ['retrieval-eval'],
  ['index', 'build'],
  ['predict'],
  ['features'],
  ['model', 'summary'],
];
const FLAGS = [
  '--dataset',
  '--preset',
  '--set',
  '--epochs',
  '--resume',
  '--name',
  '--k',
  '--limit',
  '--filter',
  '--sort',
  '--checkpoint',
  '--split',
  '--backend',
  '--model',
  '--size',
  '--val-split',
  '--max-per-class',
  '--labels',
  '--top',
  '--bogus',
  '-x',
  '--json',
];
const VALUES = [
  '-1',
  '0',
  '1e309',
  'NaN',
  'abc',
  '../../etc/passwd',
  '/nonexistent',
  '',
  '999999',
  'lr=-1',
  'batch=0',
  'inputSize=512',
  'unknown=1',
  '=',
  'status = = 1',
  "name = 'x",
  '3.5',
  'x'.repeat(5000),
  '\u0000',
  'best',
  'wasm',
  'tensorflow-gpu',
  'alexnet-paper',
];

function commandLine(): string[] {
  const args = [...pick(COMMANDS)];
  for (let i = Math.floor(random() * 4); i > 0; i--) args.push(pick(VALUES));
  for (let i = Math.floor(random() * 5); i > 0; i--) {
    args.push(pick(FLAGS));
    if (random() < 0.8) args.push(pick(VALUES));
  }
  return args;
}

describe('the CLI under malformed command lines', () => {
  const home = tempDir('svw-cli-fuzz-');
  const saved = process.env.SVW_HOME;
  beforeAll(() => (process.env.SVW_HOME = home.dir));
  afterAll(() => {
    process.env.SVW_HOME = saved;
    home.cleanup();
  });

  it(`refuses ${INVOCATIONS} generated bad invocations with one clear line each`, async () => {
    const errors: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      errors.push(String(chunk));
      return true;
    });
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const codes = new Map<number, number>();
    try {
      for (let i = 0; i < INVOCATIONS; i++) {
        const args = commandLine();
        errors.length = 0;
        process.exitCode = undefined;
        const code = await main(args);
        process.exitCode = undefined;
        codes.set(code, (codes.get(code) ?? 0) + 1);
        const text = errors.join('');
        expect(text, args.join(' ')).not.toMatch(/\n\s+at .+:\d+:\d+/); // no stack trace
        // Now and then a line is valid after all (`runs list`); every other one says why not.
        if (code !== 0) expect(text, args.join(' ')).toMatch(/error/i);
      }
    } finally {
      stderr.mockRestore();
      stdout.mockRestore();
    }
    expect([...codes.keys()].every((c) => c === 0 || c === 1 || c === 2)).toBe(true);
    expect((codes.get(1) ?? 0) + (codes.get(2) ?? 0)).toBeGreaterThan(INVOCATIONS * 0.8);
  }, 300_000);
});
