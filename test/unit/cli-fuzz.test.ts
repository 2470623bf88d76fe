import seedrandom from 'seedrandom';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../core/cli/main.js';
import { tempDir } from '../helpers/cli.js';

// Generated bad command lines for every command that only reads, checks or refuses: wrong
// types, negative and huge numbers, traversal, unknown flags and runs. In an empty workbench
// every one of them is wrong (the two commands that need nothing get a mistake of their own),
// and each must be refused with exit code 1 or 2 and one line saying why — a hint line may
// follow, and a bad --filter is shown under a caret — never a stack trace, never a crash.
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

/** Mistakes for the commands that an empty workbench does not refuse by itself. */
const MISTAKES: Record<string, string[][]> = {
  'runs list': [
    ['--filter', 'status = = 1'],
    ['--limit', '0'],
    ['--sort', 'no.such.key'],
  ],
  'model summary': [
    ['--preset', 'nope'],
    ['--set', 'unknown=1'],
    ['--classes', '0'],
  ],
};

function commandLine(): string[] {
  const command = pick(COMMANDS);
  const args = [...command];
  for (let i = Math.floor(random() * 4); i > 0; i--) args.push(pick(VALUES));
  for (let i = Math.floor(random() * 5); i > 0; i--) {
    args.push(pick(FLAGS));
    if (random() < 0.8) args.push(pick(VALUES));
  }
  const mistakes = MISTAKES[command.join(' ')];
  if (mistakes) {
    // Last, so that no flag before it takes it as its value and no later one overrides it.
    if (FLAGS.includes(args.at(-1)!)) args.push(pick(VALUES));
    args.push(...pick(mistakes));
  }
  return args;
}

/** Is `text` (stderr) one error line, then at most a hint or the caret under a bad filter? */
function oneClearLine(text: string): boolean {
  const [first = '', ...rest] = text.trimEnd().split('\n');
  if (!/^svw: error: \S/.test(first)) return false;
  if (/^svw: error: bad --filter:$/.test(first))
    return rest.length === 2 && /^\s*\^$/.test(rest[1]!);
  return rest.length === 0 || (rest.length === 1 && /^svw: hint: \S/.test(rest[0]!));
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
    expect(oneClearLine('svw: error: no run 7\nsvw: hint: svw runs list shows the runs\n')).toBe(
      true,
    );
    expect(oneClearLine('svw: error: x\nsvw: (run with --verbose for details)\n')).toBe(false);
    expect(oneClearLine('svw: error: x\n(Did you mean --set?)\n')).toBe(false);
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
        expect(code, args.join(' ')).toBeOneOf([1, 2]);
        expect(oneClearLine(text), `${args.join(' ')}\n${text}`).toBe(true);
      }
    } finally {
      stderr.mockRestore();
      stdout.mockRestore();
    }
    // Both kinds of refusal happen: the command line's (2) and the workbench's (1).
    expect(codes.get(1)).toBeGreaterThan(INVOCATIONS / 20);
    expect(codes.get(2)).toBeGreaterThan(INVOCATIONS / 20);
  }, 300_000);
});
