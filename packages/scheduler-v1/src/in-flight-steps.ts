import type { SchedulerOutput } from '@vllm-ts/core';
import type { Request } from './request.js';

/** A scheduled step awaiting its output: its requests in batch order and which it samples for. */
export interface InFlightStep {
  readonly batch: readonly Request[];
  /** Per batch entry: 1 when the step samples for it. */
  readonly samples: Uint8Array;
}

/**
 * The steps `schedule()` returned and `updateFromOutput()` has not applied yet, oldest first (one
 * under synchronous scheduling, the pipeline's depth under async scheduling). Remembering a step's
 * requests saves a lookup per request when its output comes back. Outputs are applied in the
 * order the steps were scheduled, so taking one forgets the older ones (never to be applied), and
 * at most `capacity` are kept (a caller that never applies some outputs leaks nothing).
 * @internal
 */
export class InFlightSteps {
  private readonly outputs: SchedulerOutput[] = [];
  private readonly steps: InFlightStep[] = [];

  /** @param capacity steps kept at most (the oldest is forgotten first) */
  constructor(private readonly capacity: number) {}

  /**
   * Records a step just scheduled.
   * @param output what `schedule()` returned
   * @param step its requests and sampling flags
   */
  push(output: SchedulerOutput, step: InFlightStep): void {
    if (this.outputs.length === this.capacity) {
      this.outputs.shift();
      this.steps.shift();
    }
    this.outputs.push(output);
    this.steps.push(step);
  }

  /**
   * Takes the record of `output`, forgetting it and every older step.
   * @param output a step's output, as `schedule()` returned it
   * @returns the step, or null for an output not recorded (another object, or forgotten)
   */
  take(output: SchedulerOutput): InFlightStep | null {
    const at = this.outputs.indexOf(output);
    if (at < 0) return null;
    const step = this.steps[at]!;
    this.outputs.splice(0, at + 1);
    this.steps.splice(0, at + 1);
    return step;
  }
}
