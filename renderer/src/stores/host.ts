import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { HostInfo, PushEvent } from '../../../core/api/contract';
import { client } from '../api/client';

/** The host: what it is and can do, whether its push channel is up, and its events. */
export const useHostStore = defineStore('host', () => {
  const info = ref<HostInfo | null>(null);
  const connected = ref(true);
  const error = ref<string | null>(null);
  let subscribed = false;
  const listeners = new Set<(event: PushEvent) => void>();

  async function load(): Promise<HostInfo | null> {
    try {
      info.value = await client().api.info({});
      error.value = null;
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err);
    }
    return info.value;
  }

  /** Every push event, to every store that asked; one subscription to the host for all. */
  function on(listener: (event: PushEvent) => void): () => void {
    listeners.add(listener);
    if (!subscribed) {
      subscribed = true;
      client().onEvent((event) => listeners.forEach((l) => l(event)));
      client().onConnection((state) => (connected.value = state === 'open'));
    }
    return () => listeners.delete(listener);
  }

  return { info, connected, error, load, on };
});
