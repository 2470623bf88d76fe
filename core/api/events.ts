import type { PushEvent } from './contract.js';

type Listener = (event: PushEvent) => void;

/** Push events to any number of listeners; a listener that throws cannot stop the others. */
export class EventHub {
  private readonly listeners = new Set<Listener>();

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  emit(event: PushEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        console.error('svw: an event listener failed:', err);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}

/**
 * Passes on at most one event per key every `intervalMs`: the first at once, then the latest of
 * those that arrived meanwhile when the interval is up, so the last state is never lost. The
 * latest event of each key stays readable (a run's progress for getRun).
 */
export class Throttled<K, E> {
  private readonly state = new Map<
    K,
    { latest: E; sentAt: number; timer: NodeJS.Timeout | null }
  >();

  constructor(
    private readonly intervalMs: number,
    private readonly send: (event: E) => void,
  ) {}

  push(key: K, event: E): void {
    const now = Date.now();
    const entry = this.state.get(key);
    if (!entry) {
      this.state.set(key, { latest: event, sentAt: now, timer: null });
      this.send(event);
      return;
    }
    entry.latest = event;
    if (entry.timer) return;
    const wait = entry.sentAt + this.intervalMs - now;
    if (wait <= 0) {
      entry.sentAt = now;
      this.send(event);
      return;
    }
    entry.timer = setTimeout(() => {
      entry.timer = null;
      entry.sentAt = Date.now();
      this.send(entry.latest);
    }, wait);
    entry.timer.unref();
  }

  latest(key: K): E | undefined {
    return this.state.get(key)?.latest;
  }

  /** Forgets a key; with `flush`, an event still held back is sent first. */
  drop(key: K, flush = false): void {
    const entry = this.state.get(key);
    if (!entry) return;
    if (entry.timer) {
      clearTimeout(entry.timer);
      if (flush) this.send(entry.latest);
    }
    this.state.delete(key);
  }

  close(): void {
    for (const key of [...this.state.keys()]) this.drop(key);
  }
}
