import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { presetConfig, type PresetName } from '../core/schema/model-config.js';
import { UserError } from '../core/util/errors.js';
import { middleHalf } from './timing.js';
import type { BenchResult, Comparison } from './result.js';

const SCRIPT = path.resolve(import.meta.dirname, '../../bench/reference_pytorch.py');

export const INSTALL_HINT =
  'PyTorch is not installed for python3: `apt-get install -y python3-torch` (Debian/Ubuntu) or `pip install torch`; set PYTHON to pick an interpreter';

/** A preset, its batch sizes, and the parameter count our build of it has. */
export interface ReferenceCase {
  preset: PresetName;
  batches: number[];
  params: number;
}

/** One JSON line of reference_pytorch.py. */
type ReferenceLine =
  | { kind: 'model'; preset: string; params: number; torch: string; device: string }
  | { kind: 'done' }
  | {
      kind: 'train' | 'forward';
      preset: string;
      batch: number;
      threads: number;
      imagesPerSec: number;
      msPerBatch: number;
    };

/**
 * The first interpreter that can import torch: $PYTHON, then python3 on the PATH, then the
 * system /usr/bin/python3 (where Debian's python3-torch lives even when a pyenv or venv
 * python3 comes first on the PATH); otherwise why none can.
 */
export function findTorchPython(): { python: string; torch: string } | { missing: string } {
  const candidates = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string =>
    Boolean(c),
  );
  let found = false;
  for (const python of [...new Set(candidates)]) {
    const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], {
      encoding: 'utf8',
    });
    if (probe.error) continue;
    found = true;
    if (probe.status === 0) return { python, torch: probe.stdout.trim() };
  }
  return { missing: found ? INSTALL_HINT : `no python3 found; ${INSTALL_HINT}` };
}

/**
 * Times the same networks in PyTorch CUDA on the GPU, one after the other (a GPU's speed does not
 * drift as this CPU's does; on the CPU see {@link PytorchSession}). The script fails if its
 * parameter count differs from ours, so the two sides are known to build the same layers.
 * Returns the figures as bench results, or an empty list after one line on stderr saying how to
 * install PyTorch.
 */
export async function benchPytorchCuda(
  cases: ReferenceCase[],
  quick: boolean,
): Promise<BenchResult[]> {
  const found = findTorchPython();
  if ('missing' in found) {
    process.stderr.write(`skipping the PyTorch reference: ${found.missing}\n`);
    return [];
  }
  const results: BenchResult[] = [];
  for (const c of cases) {
    process.stderr.write(
      `PyTorch ${found.torch} (${found.python}): ${c.preset} at batch ${c.batches.join(', ')} on the GPU…\n`,
    );
    const args = [
      SCRIPT,
      '--config',
      JSON.stringify(presetConfig(c.preset)),
      '--batch',
      ...c.batches.map(String),
      // On the GPU the CPU's thread count hardly matters: one figure.
      '--threads',
      '1',
      '--expect-params',
      String(c.params),
      '--device',
      'cuda',
      ...(quick ? ['--min-seconds', '0', '--min-reps', '1', '--warmup', '1'] : []),
    ];
    for (const line of await runScript(found.python, args)) {
      if (line.kind === 'model') {
        process.stderr.write(
          `  parameters: ours ${c.params}, PyTorch ${line.params}; device ${line.device}\n`,
        );
        continue;
      }
      if (line.kind === 'done') continue;
      results.push({
        name: `${line.kind} ${line.preset}`,
        backend: `pytorch ${found.torch} cuda`,
        batch: line.batch,
        threads: line.threads,
        imagesPerSec: line.imagesPerSec,
        msPerBatch: line.msPerBatch,
        params: c.params,
      });
    }
  }
  return results;
}

/** What one request to a {@link PytorchSession} times. */
export interface PytorchRequest {
  preset: PresetName;
  batch: number;
  threads: number;
  kinds: ('train' | 'forward')[];
  /** Our parameter count: the script fails on another. */
  params: number;
  minSeconds: number;
  minReps: number;
  warmup: number;
}

/**
 * reference_pytorch.py kept running (--serve), timing on request: the bench alternates its own
 * figures with PyTorch's, so both meet the same moments of a machine whose speed drifts. Each
 * model is built once; the process is idle between requests.
 */
export class PytorchSession {
  private readonly waiting: {
    lines: ReferenceLine[];
    resolve: (lines: ReferenceLine[]) => void;
    reject: (err: Error) => void;
  }[] = [];
  private exited: Error | null = null;

  private constructor(
    private readonly child: ChildProcess,
    readonly torch: string,
    readonly python: string,
  ) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.trim()) return;
      const parsed = JSON.parse(line) as ReferenceLine;
      const current = this.waiting[0];
      if (!current) return;
      if (parsed.kind === 'model') {
        process.stderr.write(`  PyTorch built ${parsed.preset}: ${parsed.params} parameters\n`);
        return;
      }
      if (parsed.kind !== 'done') {
        current.lines.push(parsed);
        return;
      }
      this.waiting.shift();
      current.resolve(current.lines);
    });
    child.on('exit', (code, signal) => {
      this.exited = new UserError(
        `${path.basename(SCRIPT)} --serve exited (${signal ?? `code ${code}`}; its reason above)`,
      );
      for (const w of this.waiting.splice(0)) w.reject(this.exited);
    });
  }

  /** Starts the script, or says (one line on stderr) why PyTorch cannot run and returns null. */
  static start(): PytorchSession | null {
    const found = findTorchPython();
    if ('missing' in found) {
      process.stderr.write(`skipping the PyTorch reference: ${found.missing}\n`);
      return null;
    }
    const child = spawn(found.python, [SCRIPT, '--serve'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    return new PytorchSession(child, found.torch, found.python);
  }

  /** PyTorch's figures for one request, as bench results. */
  async measure(request: PytorchRequest): Promise<BenchResult[]> {
    if (this.exited) throw this.exited;
    const lines = await new Promise<ReferenceLine[]>((resolve, reject) => {
      this.waiting.push({ lines: [], resolve, reject });
      this.child.stdin!.write(
        JSON.stringify({
          config: presetConfig(request.preset),
          batch: request.batch,
          threads: request.threads,
          kinds: request.kinds,
          expectParams: request.params,
          minSeconds: request.minSeconds,
          minReps: request.minReps,
          warmup: request.warmup,
        }) + '\n',
      );
    });
    return lines.flatMap((line) =>
      line.kind === 'train' || line.kind === 'forward'
        ? [
            {
              name: `${line.kind} ${line.preset}`,
              backend: `pytorch ${this.torch}`,
              batch: line.batch,
              threads: line.threads,
              imagesPerSec: line.imagesPerSec,
              msPerBatch: line.msPerBatch,
              params: request.params,
            },
          ]
        : [],
    );
  }

  /** Ends the script (closing its stdin) and waits for it. */
  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin!.end();
    await done;
  }
}

/** Runs the script and parses its JSON lines; its stderr goes to ours. */
function runScript(python: string, args: string[]): Promise<ReferenceLine[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        // The script says why on stderr, which is ours: one line more is enough.
        reject(
          new UserError(`${path.basename(SCRIPT)} exited with code ${code} (its reason above)`),
        );
        return;
      }
      const lines = out.split('\n').filter((l) => l.trim());
      resolve(lines.map((l) => JSON.parse(l) as ReferenceLine));
    });
  });
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * Pairs our results with PyTorch's for the same kind, preset, batch and thread count (ours
 * without a count ran on one thread): ratio = ours ÷ PyTorch (above 1 means we are faster), and
 * for more than one thread our scaling over our own one-thread figure. Rows without a reference
 * figure are left out.
 */
export function compareWithReference(ours: BenchResult[], reference: BenchResult[]): Comparison[] {
  const rows: Comparison[] = [];
  const threadsOf = (r: BenchResult) => r.threads ?? 1;
  for (const r of ours) {
    const [kind, preset] = r.name.split(' ');
    if ((kind !== 'train' && kind !== 'forward') || !preset) continue;
    const threads = threadsOf(r);
    const same = reference.find(
      (p) => p.name === r.name && p.batch === r.batch && threadsOf(p) === threads,
    );
    if (!same) continue;
    const single = ours.find((o) => o.name === r.name && o.batch === r.batch && threadsOf(o) === 1);
    rows.push({
      kind,
      preset,
      batch: r.batch,
      threads,
      oursImagesPerSec: r.imagesPerSec,
      referenceImagesPerSec: same.imagesPerSec,
      ratio: round2(r.imagesPerSec / same.imagesPerSec),
      ...(threads > 1 && single ? { scaling: round2(r.imagesPerSec / single.imagesPerSec) } : {}),
    });
  }
  return rows;
}

/**
 * The comparison as a plain-text table, training rows first, then by thread count; where the rows
 * were measured in rounds, with the middle half of the rounds' ratios (and scalings).
 */
export function formatComparison(rows: Comparison[], reference = 'PyTorch'): string {
  const rounds = rows.some((r) => r.ratios);
  const spread = (values: number[] | undefined) => {
    if (!values?.length) return '';
    const [low, high] = middleHalf(values);
    return `${low.toFixed(2)}–${high.toFixed(2)}`;
  };
  const head = [
    '',
    'preset',
    'batch',
    'threads',
    'ours img/s',
    `${reference} img/s`,
    `ours ÷ ${reference}`,
    ...(rounds ? ['middle half of rounds'] : []),
    'ours ÷ ours on 1 thread',
    ...(rounds ? ['middle half of rounds'] : []),
  ];
  const body = ['train', 'forward'].flatMap((kind) =>
    rows
      .filter((r) => r.kind === kind)
      .map((r) => [
        kind,
        r.preset,
        String(r.batch),
        String(r.threads),
        r.oursImagesPerSec.toFixed(1),
        r.referenceImagesPerSec.toFixed(1),
        `${r.ratio.toFixed(2)}×`,
        ...(rounds ? [spread(r.ratios)] : []),
        r.scaling === undefined ? '—' : `${r.scaling.toFixed(2)}×`,
        ...(rounds ? [spread(r.scalings)] : []),
      ]),
  );
  const table = [head, ...body];
  const widths = head.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  // Numbers right-aligned, names left-aligned.
  return table
    .map((row) =>
      row
        .map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
