/**
 * The single-node Slurm cluster the cluster tests start: its own slurm.conf in a temporary
 * folder (SLURM_CONF), munged, slurmctld and slurmd, stopped afterwards. It lives with the bench,
 * which starts one too.
 */
export {
  slurmUnavailable,
  startSlurmCluster,
  type SlurmCluster,
} from '../../bench/slurm-cluster.js';
