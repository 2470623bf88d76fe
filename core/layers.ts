/**
 * The layers of core/, bottom first. A module may import from its own layer and the layers
 * below it, never from one above (test/unit/import-layers.test.ts checks every import):
 * - util: errors, files, formats; schema: the vocabulary every layer shares (worker messages,
 *   job specs, run and model configs, setting descriptors);
 * - image, engine, model, filter, store, data, train, retrieval: the library;
 * - analysis: what many runs say together (hyperparameter importance), and what a run's fc7
 *   features say about its data (the map, label errors, duplicates and leaks);
 * - sweep: sweeps as objects, their search spaces, ASHA's early stopping, the ablation study;
 * - jobs: hosts, scheduler and the worker entry; api, server, cli: the hosts' faces.
 */
export const CORE_LAYERS = [
  'util',
  'schema',
  'image',
  'engine',
  'model',
  'filter',
  'store',
  'data',
  'train',
  'retrieval',
  'analysis',
  'sweep',
  'jobs',
  'api',
  'server',
  'cli',
] as const;
