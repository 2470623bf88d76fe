import type { ScheduleConfig } from '../schema/run-config.js';

/** What a schedule needs to carry across a resume. */
export interface ScheduleState {
  lr: number;
  drops: number;
  best: number | null;
  badEpochs: number;
}

/**
 * Learning-rate schedules, per epoch: fixed, step (×gamma every stepSize epochs), multistep
 * (×gamma at each milestone) and plateau, the paper's rule: divide by 10 when the validation
 * error stops improving (after `patience` epochs without an improvement of `threshold`), at
 * most `maxDrops` times.
 */
export class LrSchedule {
  private state: ScheduleState;

  constructor(
    private readonly config: ScheduleConfig,
    private readonly baseLr: number,
    state?: ScheduleState,
  ) {
    this.state = state ? { ...state } : { lr: baseLr, drops: 0, best: null, badEpochs: 0 };
  }

  /** The learning rate for an epoch (0-based: the number of epochs already completed). */
  lrFor(epoch: number): number {
    const { type, gamma, stepSize, milestones } = this.config;
    switch (type) {
      case 'fixed':
        return this.baseLr;
      case 'step':
        return this.baseLr * gamma ** Math.floor(epoch / stepSize);
      case 'multistep':
        return this.baseLr * gamma ** milestones.filter((m) => m <= epoch).length;
      case 'plateau':
        return this.state.lr;
    }
  }

  /** Feeds the validation top-1 error after an evaluation; returns true when the rate dropped. */
  observe(valError: number): boolean {
    if (this.config.type !== 'plateau') return false;
    const s = this.state;
    if (s.best === null || valError < s.best - this.config.threshold) {
      s.best = valError;
      s.badEpochs = 0;
      return false;
    }
    s.badEpochs++;
    if (s.badEpochs > this.config.patience && s.drops < this.config.maxDrops) {
      s.lr *= this.config.gamma;
      s.drops++;
      s.badEpochs = 0;
      return true;
    }
    return false;
  }

  snapshot(): ScheduleState {
    return { ...this.state };
  }
}
