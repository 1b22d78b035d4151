// Errors of the training loop. A non-finite loss will not go away on a retry (the same seed gives the
// same numbers): it is bad input (the config's learning rate), never retried.
import { BadInputError } from '../errors';

export class NonFiniteLossError extends BadInputError {
  constructor(
    readonly epoch: number,
    readonly step: number,
    readonly value: number,
    readonly quantity: 'loss' | 'gradient norm' = 'loss',
  ) {
    super(
      `The ${quantity} became ${value} at epoch ${epoch}, step ${step}; no checkpoint was written for this state. ` +
        'Lower optimizer.learningRate, set optimizer.clipGradNorm, or resume from the last good checkpoint.',
    );
  }
}

export class TensorLeakError extends Error {
  override readonly name = 'TensorLeakError';
  constructor(
    readonly leaked: number,
    readonly step: number,
  ) {
    super(`Leaked ${leaked} tensors at step ${step}.`);
  }
}

/** A checkpoint that an evaluation or export needs is missing or damaged: retrying cannot bring it back. */
export class CheckpointError extends BadInputError {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}
