/** `pruned`: stopped early by its sweep (ASHA), with the reason in `error`. */
export type RunStatus =
  'queued' | 'running' | 'completed' | 'failed' | 'cancelled' | 'interrupted' | 'pruned';

/** The statuses of a run that has ended (an interrupted one may be resumed). */
export const FINAL_STATUSES: RunStatus[] = [
  'completed',
  'failed',
  'cancelled',
  'interrupted',
  'pruned',
];
