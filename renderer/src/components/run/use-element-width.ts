import { onBeforeUnmount, onMounted, ref, type Ref } from 'vue';

/**
 * The width of an element in CSS pixels, kept current as it resizes: the number of points worth
 * drawing on a chart that fills it. Falls back to `fallback` where layout is unknown (tests).
 */
export function useElementWidth(el: Ref<HTMLElement | null>, fallback = 800): Ref<number> {
  const width = ref(fallback);
  let observer: ResizeObserver | null = null;
  onMounted(() => {
    const node = el.value;
    if (!node) return;
    if (node.clientWidth > 0) width.value = node.clientWidth;
    if (typeof ResizeObserver === 'undefined') return;
    observer = new ResizeObserver((entries) => {
      const w = entries[0]?.contentRect.width ?? 0;
      // Round to 50 px so dragging a window edge does not rebuild every chart on every pixel.
      if (w > 0) width.value = Math.max(100, Math.round(w / 50) * 50);
    });
    observer.observe(node);
  });
  onBeforeUnmount(() => observer?.disconnect());
  return width;
}
