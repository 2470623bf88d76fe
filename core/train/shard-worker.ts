import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, type BackendName } from '../engine/backends.js';
import { readFloats, tensorFromFloats } from '../engine/tensor-io.js';
import { buildAlexNet } from '../model/alexnet.js';
import { errorMessage } from '../util/errors.js';
import type { ShardInit, ShardReply, ShardRequest } from './shard-protocol.js';
import { layout } from './shard-protocol.js';
import { shareGradients, trainee } from './step.js';

/**
 * A shard thread of a training job (started by ./shards.ts): an engine of its own holding a copy
 * of the network, which computes the gradients of its rows of every batch. It never updates the
 * weights itself; it reloads them from shared memory when the main thread says they changed.
 */
const init = workerData as ShardInit;
const port = parentPort!;
const reply = (message: ShardReply) => port.postMessage(message);

async function start() {
  tf.enableProdMode();
  await selectBackend(init.backend as BackendName);
  const model = buildAlexNet(init.model, { seed: init.seed });
  const t = trainee(model, init.model, init.seed);
  const shapes = t.params.map((p) => p.variable.shape);
  const { offsets, total } = layout(shapes);
  const weights = new Float32Array(init.weights, 0, total);
  const grads = new Float32Array(init.grads, init.gradsOffset * 4, total);

  const reload = () =>
    t.params.forEach((p, i) => {
      const fresh = tensorFromFloats(
        weights.subarray(offsets[i]!, offsets[i]! + p.variable.size),
        p.variable.shape,
      );
      p.variable.assign(fresh);
      fresh.dispose();
    });

  // The main thread sends one step at a time and waits for its reply, so steps never overlap.
  port.on('message', async (request: ShardRequest) => {
    if (request.type === 'close') {
      model.dispose();
      port.close();
      return;
    }
    try {
      if (request.reload) reload();
      const result = await shareGradients(t, request);
      t.params.forEach((p, i) => {
        const g = result.grads[p.variable.name]!;
        grads.set(readFloats(g), offsets[i]);
      });
      tf.dispose(Object.values(result.grads));
      reply({ type: 'done', loss: result.loss, wrong: result.wrong });
    } catch (err) {
      reply({ type: 'error', message: errorMessage(err), stack: (err as Error).stack });
    }
  });
  reply({ type: 'ready', shapes });
}

start().catch((err: unknown) =>
  reply({ type: 'error', message: errorMessage(err), stack: (err as Error).stack }),
);
