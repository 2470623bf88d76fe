import { z } from 'zod';

/**
 * A Slurm cluster profile: the partition and resources `--on NAME` asks for, and the spool folder
 * on the shared file system. Every value ends up on an `#SBATCH` line, so each is held to the
 * characters Slurm itself accepts there.
 */

const word = /^[A-Za-z0-9_.-]+$/;

export const clusterNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/, 'a name of letters, digits, - and _ (at most 40)')
  .refine((n) => n !== 'local', "'local' means this machine");

export const clusterProfileSchema = z.strictObject({
  name: clusterNameSchema,
  partition: z.string().regex(word, 'a Slurm partition name'),
  /** `gpu:1`, `gpu:a100:2`, several separated by commas. */
  gres: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]+(,[A-Za-z0-9_.:-]+)*$/, 'a --gres value such as gpu:1')
    .nullable(),
  cpus: z.number().int().positive().max(4096).nullable(),
  /** Memory per node as sbatch takes it: 16G, 8000M, 4000. */
  mem: z
    .string()
    .regex(/^\d+[KMGT]?$/i, 'memory such as 16G or 8000M')
    .nullable(),
  /** minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS. */
  time: z
    .string()
    .regex(
      /^(\d+-\d{1,2}(:\d{1,2}){0,2}|\d+(:\d{1,2}){0,2})$/,
      'a time limit such as 90, 4:00:00 or 2-00:00:00',
    )
    .nullable(),
  account: z.string().regex(word, 'a Slurm account name').nullable(),
  /** An absolute path on the file system the login node and the compute nodes share. */
  spool: z
    .string()
    .min(1)
    .max(1024)
    .refine((p) => p.startsWith('/'), 'an absolute path')
    .refine((p) => !/[\s"'`$\\%]/.test(p), 'a path without spaces, quotes, $, % or \\'),
  /** Resubmissions of a preempted, timed-out or node-failed run (it resumes from its checkpoint). */
  maxResubmits: z.number().int().min(0).max(100),
});

export type ClusterProfile = z.infer<typeof clusterProfileSchema>;

/** What a profile leaves to defaults: every resource, the spool (under the home) and 2 resubmits. */
export const DEFAULT_MAX_RESUBMITS = 2;
