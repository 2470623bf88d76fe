import { onBeforeUnmount, onMounted, ref, type Ref } from 'vue';

/**
 * The width of an element in CSS pixels, kept current as it resizes: the number of points worth
 * drawing on a chart that fills it. Falls back to `fallback` where layout is unknown (tests).
 */
export function useElementWidth(el: Ref<HTMLElement | null>, fallback = 800): Ref<number> {
  const width = ref(fallback);
  let observer: ResizeObserver | null = null;
  // Rounded to 50 px so dragging a window edge does not rebuild every chart on every pixel.
  const set = (w: number) => {
    if (w > 0) width.value = Math.max(100, Math.round(w / 50) * 50);
  };
  onMounted(() => {
    const node = el.value;
    if (!node) return;
    // The observer reports the first size after the next layout; reading clientWidth here would
    // force that layout at once (a page of 100 compared runs: 170 ms), and again after every change.
    if (typeof ResizeObserver === 'undefined') return set(node.clientWidth);
    observer = new ResizeObserver((entries) => set(entries[0]?.contentRect.width ?? 0));
    observer.observe(node);
  });
  onBeforeUnmount(() => observer?.disconnect());
  return width;
}
