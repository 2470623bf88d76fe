import { errorMessage } from '../../core/util/errors.js';
import { dawnGpu, listAdapters } from '../../core/engine/webgpu-dawn.js';

/**
 * Why the tests that need a real WebGPU adapter cannot run here (printed), or null when Dawn
 * offers one; lavapipe, a software one, is enough (CI installs it).
 */
export async function webgpuSkipReason(file: string): Promise<string | null> {
  let reason: string | null;
  try {
    const adapters = await listAdapters(await dawnGpu());
    reason = adapters.length > 0 ? null : 'Dawn found no WebGPU adapter';
  } catch (err) {
    reason = errorMessage(err);
  }
  if (reason !== null)
    console.warn(
      `${file}: skipped, ${reason} (install a Vulkan driver; mesa-vulkan-drivers gives lavapipe)`,
    );
  return reason;
}
