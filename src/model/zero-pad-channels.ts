// Appends zero channels to a channels-last tensor: the shortcut of face-api's (dlib's) down blocks, whose
// average-pooled input has half the block's channels. A custom layer (no weights) so that the model saves and
// loads as a standard tfjs model.json; loading only needs this module imported, which registers the class.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export interface ZeroPadChannelsArgs {
  /** How many zero channels to append. */
  channels: number;
  name?: string;
}

export class ZeroPadChannels extends tfl.layers.Layer {
  static className = 'ZeroPadChannels';
  readonly channels: number;

  constructor(args: ZeroPadChannelsArgs) {
    super({ name: args.name });
    if (!Number.isInteger(args.channels) || args.channels <= 0) {
      throw new Error(`ZeroPadChannels expected channels to be a positive integer, but got ${args.channels}`);
    }
    this.channels = args.channels;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const last = shape[shape.length - 1];
    return [...shape.slice(0, -1), last == null ? null : last + this.channels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (x === undefined) throw new Error('ZeroPadChannels expected one input tensor, but got none');
    const paddings = x.shape.map((_, i): [number, number] => (i === x.rank - 1 ? [0, this.channels] : [0, 0]));
    return tf.pad(x, paddings);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), channels: this.channels };
  }
}

tf.serialization.registerClass(ZeroPadChannels);
