import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { batchScript, shellQuote, submissionFiles } from '../../core/jobs/slurm/script.js';
import { clusterProfileSchema, type ClusterProfile } from '../../core/schema/cluster.js';
import { addCluster, listClusters, removeCluster } from '../../core/store/clusters.js';
import { openDatabase } from '../../core/store/db.js';
import { tempDir } from '../helpers/cli.js';

const tmp = tempDir('svw-sbatch-');
afterAll(() => tmp.cleanup());

const profile: ClusterProfile = {
  name: 'hpc',
  partition: 'gpu',
  gres: 'gpu:a100:1',
  cpus: 8,
  mem: '32G',
  time: '1-00:00:00',
  account: 'lab_42',
  spool: '/shared/svw/spool',
  maxResubmits: 2,
};
const spec = {
  profile,
  name: 'svw-r7-0a1b2c3d',
  dir: '/shared/svw/spool/svw-r7-0a1b2c3d',
  tasks: 1,
  node: '/opt/node 20/bin/node',
  worker: '/shared/svw/app/dist/core/jobs/worker.js',
};
const sbatchLines = (script: string) => script.split('\n').filter((l) => l.startsWith('#SBATCH'));

describe('sbatch scripts', () => {
  it("asks for the profile's resources and runs the worker on the task's payload and event file", () => {
    const script = batchScript(spec);
    expect(script.startsWith('#!/bin/bash\n')).toBe(true);
    expect(sbatchLines(script)).toEqual([
      '#SBATCH --job-name=svw-r7-0a1b2c3d',
      '#SBATCH --partition=gpu',
      '#SBATCH --output=/shared/svw/spool/svw-r7-0a1b2c3d/task-0.log',
      '#SBATCH --nodes=1',
      '#SBATCH --ntasks=1',
      '#SBATCH --cpus-per-task=8',
      '#SBATCH --mem=32G',
      '#SBATCH --time=1-00:00:00',
      '#SBATCH --gres=gpu:a100:1',
      '#SBATCH --account=lab_42',
      '#SBATCH --no-requeue',
    ]);
    expect(script).toContain(
      `exec '/opt/node 20/bin/node' /shared/svw/app/dist/core/jobs/worker.js --job "task-$task.json" --events "task-$task.events.jsonl"`,
    );
    expect(script).toContain('task=0\n');
    expect(submissionFiles(spec.dir, 0)).toEqual({
      script: `${spec.dir}/job.sh`,
      payload: `${spec.dir}/task-0.json`,
      events: `${spec.dir}/task-0.events.jsonl`,
      log: `${spec.dir}/task-0.log`,
    });
  });

  it('leaves what the profile does not set to Slurm, and makes a sweep one job array', () => {
    const bare = { ...profile, gres: null, cpus: null, mem: null, time: null, account: null };
    const script = batchScript({ ...spec, profile: bare, tasks: 4 });
    expect(sbatchLines(script)).toEqual([
      '#SBATCH --job-name=svw-r7-0a1b2c3d',
      '#SBATCH --partition=gpu',
      '#SBATCH --output=/shared/svw/spool/svw-r7-0a1b2c3d/task-%a.log',
      '#SBATCH --nodes=1',
      '#SBATCH --ntasks=1',
      '#SBATCH --array=0-3',
      '#SBATCH --no-requeue',
    ]);
    expect(script).toContain('task=$SLURM_ARRAY_TASK_ID\n');
  });

  it('is a script bash accepts, and picks the task of the array', () => {
    const file = path.join(tmp.dir, 'job.sh');
    writeFileSync(file, batchScript({ ...spec, tasks: 3, node: '/bin/echo', worker: 'worker.js' }));
    expect(spawnSync('bash', ['-n', file]).status).toBe(0);
    const ran = spawnSync('bash', [file], {
      cwd: tmp.dir,
      env: { PATH: process.env.PATH, SLURM_ARRAY_TASK_ID: '2' },
      encoding: 'utf8',
    });
    // The folder does not exist here: the script stops at cd, before running anything.
    expect(ran.status).not.toBe(0);
    writeFileSync(
      file,
      batchScript({ ...spec, dir: tmp.dir, tasks: 3, node: '/bin/echo', worker: 'worker.js' }),
    );
    const echoed = spawnSync('bash', [file], {
      env: { PATH: process.env.PATH, SLURM_ARRAY_TASK_ID: '2' },
      encoding: 'utf8',
    });
    expect(echoed.stdout.trim()).toBe('worker.js --job task-2.json --events task-2.events.jsonl');
  });

  it('quotes words for bash only when they need it', () => {
    expect(shellQuote('/usr/bin/node')).toBe('/usr/bin/node');
    expect(shellQuote("/it's here")).toBe(`'/it'\\''s here'`);
    expect(
      spawnSync('bash', ['-c', `printf %s ${shellQuote("a b'c$HOME")}`]).stdout.toString(),
    ).toBe("a b'c$HOME");
  });
});

describe('cluster profiles', () => {
  it('refuses values that would break out of their #SBATCH line', () => {
    const bad: Partial<ClusterProfile>[] = [
      { partition: 'gpu\n#SBATCH --uid=0' },
      { gres: 'gpu:1 --wrap=rm' },
      { mem: '16 G' },
      { time: 'forever' },
      { account: 'a;b' },
      { spool: 'relative/dir' },
      { spool: '/shared/with space' },
      { spool: '/shared/$HOME' },
      { name: 'local' },
      { name: '-x' },
    ];
    for (const b of bad)
      expect(clusterProfileSchema.safeParse({ ...profile, ...b }).success, JSON.stringify(b)).toBe(
        false,
      );
    for (const time of ['90', '30:00', '4:00:00', '2-00', '2-12:00', '2-12:00:00'])
      expect(clusterProfileSchema.safeParse({ ...profile, time }).success, time).toBe(true);
  });

  it('are stored by name; a name is taken once, and a bad value is said plainly', () => {
    const db = openDatabase(':memory:');
    addCluster(db, profile);
    expect(listClusters(db)).toEqual([profile]);
    expect(() => addCluster(db, profile)).toThrow(/a cluster named 'hpc' exists/);
    expect(() => addCluster(db, { ...profile, name: 'b', mem: 'lots' })).toThrow(
      /^--mem: expected memory such as 16G or 8000M$/,
    );
    let checked = '';
    expect(() =>
      addCluster(db, { ...profile, name: 'c' }, (p) => {
        checked = p.name;
        throw new Error('spool not writable');
      }),
    ).toThrow(/spool not writable/);
    expect(checked).toBe('c');
    expect(listClusters(db).map((c) => c.name)).toEqual(['hpc']);
    removeCluster(db, 'hpc');
    expect(listClusters(db)).toEqual([]);
    expect(() => removeCluster(db, 'hpc')).toThrow(/no cluster 'hpc'/);
    db.close();
  });
});
