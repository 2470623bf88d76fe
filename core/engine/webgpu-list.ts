/**
 * A child process that lists the WebGPU adapters and prints them as one line of JSON
 * ({ adapters } or { error }) on stdout. The engine ladder asks here rather than in its own
 * process: Dawn writes notices about the adapters straight to stderr (lavapipe's limits, for
 * one), which would land among a command's output, and a driver that crashes while being
 * enumerated takes down only this process.
 */
import { errorMessage } from '../util/errors.js';
import { dawnGpu, listAdapters } from './webgpu-dawn.js';

try {
  const adapters = await listAdapters(await dawnGpu());
  process.stdout.write(`${JSON.stringify({ adapters })}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: errorMessage(err).split('\n')[0] })}\n`);
}
// Dawn's instance keeps the event loop alive.
process.exit(0);
