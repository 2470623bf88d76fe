import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { MethodOutputs } from '../../../core/api/contract';
import { client } from '../api/client';
import { errorText } from '../lib/run-format';

/** The end of the Slurm log of a run's job on a cluster, loaded when asked for. */
export const useClusterLogStore = defineStore('cluster-log', () => {
  const runId = ref<number | null>(null);
  const log = ref<MethodOutputs['runClusterLog']>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);

  async function load(id: number): Promise<void> {
    if (runId.value !== id) log.value = null;
    runId.value = id;
    loading.value = true;
    try {
      const result = await client().api.runClusterLog({ id });
      if (runId.value === id) [log.value, error.value] = [result, null];
    } catch (err) {
      if (runId.value === id) error.value = errorText(err);
    } finally {
      loading.value = false;
    }
  }

  return { runId, log, loading, error, load };
});
