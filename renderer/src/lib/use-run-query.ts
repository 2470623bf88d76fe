import { watch } from 'vue';
import { useRoute, useRouter } from 'vue-router';

/**
 * The run a screen shows, kept in the URL (`?run=<id>`) so that other screens can link to it and
 * a reload keeps it. `start` opens the URL's run, or else the screen's last or first run (and
 * puts it in the URL); a changed URL opens its run.
 */
export function useRunQuery(screen: {
  current: () => number | null;
  fallback: () => number | null;
  open: (id: number) => void | Promise<void>;
}) {
  const route = useRoute();
  const router = useRouter();
  const fromRoute = () => {
    const id = Number(route.query.run);
    return Number.isInteger(id) && id > 0 ? id : null;
  };
  const pick = (id: number | string) =>
    void router.replace({ query: { ...route.query, run: String(id) } });

  async function start(): Promise<void> {
    const id = fromRoute() ?? screen.current() ?? screen.fallback();
    if (id === null) return;
    if (fromRoute() === null) pick(id);
    // Opened here, so the watcher below finds it current and does not open it again.
    await screen.open(id);
  }

  watch(
    () => route.query.run,
    () => {
      const id = fromRoute();
      if (id !== null && id !== screen.current()) void screen.open(id);
    },
  );
  return { start, pick };
}
