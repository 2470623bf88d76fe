/**
 * Faults of the engine's device that tfjs does not report itself. A WebGPU device that is lost
 * (driver reset, GPU removed) or runs out of memory says so through events, while the work
 * queued on it fails later with an empty message or quietly yields garbage. The engine records
 * the first such fault here; the trainer checks after every step, and a failed job reports the
 * fault instead of whatever it caused.
 */
export type FaultKind = 'device-lost' | 'out-of-memory' | 'device-error';

export class EngineFault extends Error {
  override name = 'EngineFault';
  constructor(
    readonly kind: FaultKind,
    readonly detail: string,
  ) {
    super(faultMessage(kind, detail));
  }
}

let fault: EngineFault | null = null;

/** Records a fault (the first one wins: later ones are its consequences). */
export function recordFault(kind: FaultKind, detail: string): void {
  fault ??= new EngineFault(kind, detail.split('\n')[0]!.trim());
}

/** The fault recorded in this process, if any. */
export function engineFault(): EngineFault | null {
  return fault;
}

/** Throws the recorded fault, so a job stops at the step where its device failed. */
export function checkEngine(): void {
  if (fault) throw fault;
}

/** Forgets the recorded fault (tests). */
export function clearEngineFault(): void {
  fault = null;
}

/**
 * What a failed job reports: the device's fault when there was one (the error that surfaced is
 * usually its consequence), with a batch to try after running out of memory; else `err`.
 */
export function explainEngineError(err: unknown, batch?: number): unknown {
  if (!fault) return err;
  const smaller = fault.kind === 'out-of-memory' && batch && batch > 1 ? Math.floor(batch / 2) : 0;
  return new Error(faultMessage(fault.kind, fault.detail, smaller), {
    cause: err === fault ? undefined : err,
  });
}

function faultMessage(kind: FaultKind, detail: string, smallerBatch = 0): string {
  const said = detail ? ` (${detail})` : '';
  if (kind === 'device-error')
    return `the GPU rejected the work${said}, so its results cannot be trusted; try --backend wasm`;
  if (kind === 'device-lost')
    return (
      `the GPU device was lost${said}: the driver reset or the GPU went away; ` +
      'resume the run (svw train --resume RUN), on any engine'
    );
  return (
    `the GPU ran out of memory${said}: train with a smaller batch` +
    `${smallerBatch ? ` (--set batch=${smallerBatch})` : ''}, ` +
    'or resume the run on another engine (svw train --resume RUN --backend wasm)'
  );
}
