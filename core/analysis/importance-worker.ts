import { parentPort, workerData } from 'node:worker_threads';
import { featureImportance, type Feature, type ImportanceOptions } from './importance.js';

/** Worker thread: fits the importance forests off the host's event loop. */
const { features, y, options } = workerData as {
  features: Feature[];
  y: number[];
  options: ImportanceOptions;
};
try {
  parentPort!.postMessage({ rows: featureImportance(features, y, options) });
} catch (err) {
  parentPort!.postMessage({ error: err instanceof Error ? err.message : String(err) });
}
