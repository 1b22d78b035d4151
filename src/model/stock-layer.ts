// tfjs-layers exports its layer classes only behind factories; its serialization registry holds the
// constructors (importing a class's own file would load a second copy of tfjs-layers). Subclasses built on
// these keep the stock class name, so saved models load as the stock layers.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';

export function stockLayerClass<T>(className: string): T {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (!entry) throw new Error(`Internal error: tfjs-layers did not register ${className}.`);
  return entry[0] as unknown as T;
}
