import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { DatasetVersion, VersionDiff } from '../../../core/store/dataset-versions';
import { client } from '../api/client';
import { errorMessage } from '../lib/run-format';
import { useHostStore } from './host';

/** A dataset's versions and what one of them changes against its parent. */
export const useDatasetVersionsStore = defineStore('dataset-versions', () => {
  const api = client().api;
  const datasetId = ref<number | null>(null);
  const versions = ref<DatasetVersion[]>([]);
  const open = ref<number | null>(null);
  const diff = ref<VersionDiff[]>([]);
  const error = ref<string | null>(null);
  let token = 0;

  async function load(id: number | null): Promise<void> {
    const mine = ++token;
    if (id !== datasetId.value) [open.value, diff.value] = [null, []];
    datasetId.value = id;
    error.value = null;
    if (id === null) return void (versions.value = []);
    try {
      const list = await api.datasetVersions({ id });
      if (mine === token) versions.value = list;
    } catch (err) {
      if (mine === token) error.value = errorMessage(err);
    }
  }

  /** Shows the changes of a version (again: hides them). */
  async function toggle(version: number): Promise<void> {
    const id = datasetId.value;
    if (id === null) return;
    if (open.value === version) return void ((open.value = null), (diff.value = []));
    open.value = version;
    diff.value = [];
    try {
      const changes = await api.datasetVersionDiff({ id, version });
      if (open.value === version && datasetId.value === id) diff.value = changes;
    } catch (err) {
      error.value = errorMessage(err);
    }
  }

  useHostStore().on((event) => {
    if (event.type === 'datasets-changed') void load(datasetId.value);
  });

  return { datasetId, versions, open, diff, error, load, toggle };
});
