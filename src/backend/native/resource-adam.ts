// In-place flat Adam (contract: ops/flat-adam.ts) on the native backend: the weights, m and v live in three
// TensorFlow resource variables (VarHandleOp; the binding passes resource handles as 'string' tensors), and one
// ResourceApplyAdam updates all three. TensorFlow's CPU kernel makes one pass, on every core, where the
// composite makes eleven and then a Sub per weight tensor. ApplyAdam, the form without resources, takes
// reference-typed variables, which eager TensorFlow (and so tfjs-node) cannot make.
//
// ResourceApplyAdam computes alpha = lr sqrt(1 - beta2_power) / (1 - beta1_power); with both powers 0 that is lr
// exactly, so the optimiser's own float64 bias correction (stepSize, epsilon scaled by sqrt(c2)) goes in as lr and
// epsilon, as the composite takes them.
import * as tf from '@tensorflow/tfjs-core';
import type { AdamUpdateAttrs } from '../ops/adam-update';
import type { FlatAdamState, FlatAdamTensor } from '../ops/flat-adam';

interface OpAttr {
  name: string;
  type: number;
  value: number | boolean | string | number[];
}

export interface ResourceBackend {
  binding: { TF_ATTR_TYPE: number; TF_ATTR_STRING: number; TF_ATTR_SHAPE: number; TF_ATTR_BOOL: number; TF_FLOAT: number };
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: tf.TensorInfo[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: tf.TensorInfo[], numOutputs: number): tf.Tensor[];
}

const ORDER: FlatAdamTensor[] = ['weights', 'm', 'v'];
let created = 0;

export class ResourceFlatAdam implements FlatAdamState {
  private readonly handles: Map<FlatAdamTensor, tf.Tensor>;
  private readonly dtype: OpAttr;
  private disposed = false;

  constructor(
    private readonly backend: ResourceBackend,
    readonly size: number,
  ) {
    const b = backend.binding;
    this.dtype = { name: 'dtype', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT };
    const id = `facenet_flat_adam_${process.pid}_${created++}`;
    this.handles = new Map(
      ORDER.map((which) => [
        which,
        tf.keep(
          backend.executeSingleOutput('VarHandleOp', [
            { name: 'container', type: b.TF_ATTR_STRING, value: '' },
            { name: 'shared_name', type: b.TF_ATTR_STRING, value: `${id}_${which}` },
            this.dtype,
            { name: 'shape', type: b.TF_ATTR_SHAPE, value: [size] },
          ], []),
        ),
      ]),
    );
  }

  usable(): boolean {
    return !this.disposed && (tf.backend() as unknown) === this.backend;
  }

  load(which: FlatAdamTensor, values: tf.Tensor1D): void {
    if (values.dtype !== 'float32' || values.size !== this.size) throw new Error(`Expected ${this.size} float32 values for the Adam ${which}, but got ${values.size} ${values.dtype}.`);
    this.backend.executeMultipleOutputs('AssignVariableOp', [this.dtype], [this.handle(which), values], 0);
  }

  read(which: FlatAdamTensor): tf.Tensor1D {
    // The result shares the variable's buffer until the next update, which then copies it once: dispose it first.
    return this.backend.executeSingleOutput('ReadVariableOp', [this.dtype], [this.handle(which)]) as tf.Tensor1D;
  }

  step(g: tf.Tensor1D, a: AdamUpdateAttrs): tf.Tensor1D {
    if (g.dtype !== 'float32' || g.size !== this.size) throw new Error(`Expected a flat float32 gradient of ${this.size} values, but got ${g.size} ${g.dtype}.`);
    const b = this.backend.binding;
    const scalars = [0, 0, a.stepSize, a.beta1, a.beta2, a.epsilon].map((x) => tf.scalar(x, 'float32'));
    try {
      this.backend.executeMultipleOutputs(
        'ResourceApplyAdam',
        [
          { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
          { name: 'use_locking', type: b.TF_ATTR_BOOL, value: false },
          { name: 'use_nesterov', type: b.TF_ATTR_BOOL, value: false },
        ],
        [this.handle('weights'), this.handle('m'), this.handle('v'), ...scalars, g],
        0,
      );
    } finally {
      tf.dispose(scalars);
    }
    return this.read('weights');
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if ((tf.backend() as unknown) === this.backend) {
      for (const h of this.handles.values()) {
        this.backend.executeMultipleOutputs('DestroyResourceOp', [{ name: 'ignore_lookup_error', type: this.backend.binding.TF_ATTR_BOOL, value: true }], [h], 0);
      }
    }
    tf.dispose([...this.handles.values()]);
    this.handles.clear();
  }

  private handle(which: FlatAdamTensor): tf.Tensor {
    const h = this.handles.get(which);
    if (!h) throw new Error('Internal error: the flat Adam state was used after dispose().');
    return h;
  }
}
