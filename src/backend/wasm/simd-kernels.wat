;; Kernels of the wasm training path in 128-bit SIMD, four values at a time: BatchNorm's passes
;; (batch-norm-simd.ts), max pooling's gradient (max-pool-grad-simd.ts) and the Adam update (adam.ts).
;; Each float32 is widened to float64 where the JavaScript versions compute in float64, and float32 operations
;; follow the same order as tfjs's kernels, so the results are the same bit for bit.
;; The lane shuffles are written out at every use: as small functions, V8 did not inline them and each pass
;; ran 2-4x slower.
;; The module works on tfjs-wasm's own heap (imported). Addresses are byte offsets into it. Tensors are float32
;; NHWC with C a multiple of 4; the BatchNorm passes see them as rows of C channels, rows [r0, r1), and take
;; per-channel float64 inputs in0..in3 and sums out0, out1 (added to).
;; scripts/build-simd-kernels.ts assembles it twice: for the threaded build's heap, a shared memory (which must
;; declare a maximum), and for the single-threaded build's, an unshared one (any maximum).
(module
  (import "env" "memory" (memory 1 MEMORY_LIMITS))

  ;; 0: out0 += x
  (func (export "sum") (param $x i32) (param $C i32) (param $r0 i32) (param $r1 i32) (param $out0 i32)
    (local $rowBytes i32) (local $at i32) (local $end i32) (local $k i32) (local $v v128) (local $o i32)
    (local.set $rowBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $at (i32.add (local.get $x) (i32.mul (local.get $r0) (local.get $rowBytes))))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $r1) (local.get $rowBytes))))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $k (i32.const 0))
        (loop $channels
          (local.set $v (v128.load align=4 (i32.add (local.get $at) (local.get $k))))
          (local.set $o (i32.add (local.get $out0) (i32.shl (local.get $k) (i32.const 1))))
          (v128.store align=8 (local.get $o)
            (f64x2.add (v128.load align=8 (local.get $o)) (f64x2.promote_low_f32x4 (local.get $v))))
          (v128.store offset=16 align=8 (local.get $o)
            (f64x2.add (v128.load offset=16 align=8 (local.get $o)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br_if $channels (i32.lt_u (local.get $k) (local.get $rowBytes))))
        (local.set $at (i32.add (local.get $at) (local.get $rowBytes)))
        (br $rows))))

  ;; 1: out0 += (x - in0)^2
  (func (export "squaredDeviation") (param $x i32) (param $C i32) (param $r0 i32) (param $r1 i32) (param $in0 i32) (param $out0 i32)
    (local $rowBytes i32) (local $at i32) (local $end i32) (local $k i32) (local $v v128) (local $o i32) (local $m i32) (local $d v128)
    (local.set $rowBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $at (i32.add (local.get $x) (i32.mul (local.get $r0) (local.get $rowBytes))))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $r1) (local.get $rowBytes))))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $k (i32.const 0))
        (loop $channels
          (local.set $v (v128.load align=4 (i32.add (local.get $at) (local.get $k))))
          (local.set $o (i32.add (local.get $out0) (i32.shl (local.get $k) (i32.const 1))))
          (local.set $m (i32.add (local.get $in0) (i32.shl (local.get $k) (i32.const 1))))
          (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (v128.load align=8 (local.get $m))))
          (v128.store align=8 (local.get $o)
            (f64x2.add (v128.load align=8 (local.get $o)) (f64x2.mul (local.get $d) (local.get $d))))
          (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (v128.load offset=16 align=8 (local.get $m))))
          (v128.store offset=16 align=8 (local.get $o)
            (f64x2.add (v128.load offset=16 align=8 (local.get $o)) (f64x2.mul (local.get $d) (local.get $d))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br_if $channels (i32.lt_u (local.get $k) (local.get $rowBytes))))
        (local.set $at (i32.add (local.get $at) (local.get $rowBytes)))
        (br $rows))))

  ;; 2: y = x * in0 + in1
  (func (export "affine") (param $x i32) (param $y i32) (param $C i32) (param $r0 i32) (param $r1 i32) (param $in0 i32) (param $in1 i32)
    (local $rowBytes i32) (local $at i32) (local $end i32) (local $k i32) (local $v v128) (local $a i32) (local $b i32) (local $lo v128) (local $hi v128)
    (local.set $rowBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $at (i32.mul (local.get $r0) (local.get $rowBytes)))
    (local.set $end (i32.mul (local.get $r1) (local.get $rowBytes)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $k (i32.const 0))
        (loop $channels
          (local.set $v (v128.load align=4 (i32.add (local.get $x) (i32.add (local.get $at) (local.get $k)))))
          (local.set $a (i32.add (local.get $in0) (i32.shl (local.get $k) (i32.const 1))))
          (local.set $b (i32.add (local.get $in1) (i32.shl (local.get $k) (i32.const 1))))
          (local.set $lo (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (local.get $v)) (v128.load align=8 (local.get $a))) (v128.load align=8 (local.get $b))))
          (local.set $hi (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))
            (v128.load offset=16 align=8 (local.get $a))) (v128.load offset=16 align=8 (local.get $b))))
          (v128.store align=4 (i32.add (local.get $y) (i32.add (local.get $at) (local.get $k)))
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.demote_f64x2_zero (local.get $lo)) (f32x4.demote_f64x2_zero (local.get $hi))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br_if $channels (i32.lt_u (local.get $k) (local.get $rowBytes))))
        (local.set $at (i32.add (local.get $at) (local.get $rowBytes)))
        (br $rows))))

  ;; 3: with g = dy (at y): out0 += g, out1 += g * (x - in0)
  (func (export "gradientSums") (param $x i32) (param $y i32) (param $C i32) (param $r0 i32) (param $r1 i32) (param $in0 i32) (param $out0 i32) (param $out1 i32)
    (local $rowBytes i32) (local $at i32) (local $end i32) (local $k i32) (local $v v128) (local $g v128) (local $m i32) (local $s i32) (local $t i32)
    (local $glo v128) (local $ghi v128)
    (local.set $rowBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $at (i32.mul (local.get $r0) (local.get $rowBytes)))
    (local.set $end (i32.mul (local.get $r1) (local.get $rowBytes)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $k (i32.const 0))
        (loop $channels
          (local.set $v (v128.load align=4 (i32.add (local.get $x) (i32.add (local.get $at) (local.get $k)))))
          (local.set $g (v128.load align=4 (i32.add (local.get $y) (i32.add (local.get $at) (local.get $k)))))
          (local.set $glo (f64x2.promote_low_f32x4 (local.get $g)))
          (local.set $ghi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $g) (local.get $g))))
          (local.set $m (i32.add (local.get $in0) (i32.shl (local.get $k) (i32.const 1))))
          (local.set $s (i32.add (local.get $out0) (i32.shl (local.get $k) (i32.const 1))))
          (local.set $t (i32.add (local.get $out1) (i32.shl (local.get $k) (i32.const 1))))
          (v128.store align=8 (local.get $s) (f64x2.add (v128.load align=8 (local.get $s)) (local.get $glo)))
          (v128.store offset=16 align=8 (local.get $s) (f64x2.add (v128.load offset=16 align=8 (local.get $s)) (local.get $ghi)))
          (v128.store align=8 (local.get $t)
            (f64x2.add (v128.load align=8 (local.get $t))
              (f64x2.mul (local.get $glo) (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (v128.load align=8 (local.get $m))))))
          (v128.store offset=16 align=8 (local.get $t)
            (f64x2.add (v128.load offset=16 align=8 (local.get $t))
              (f64x2.mul (local.get $ghi) (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (v128.load offset=16 align=8 (local.get $m))))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br_if $channels (i32.lt_u (local.get $k) (local.get $rowBytes))))
        (local.set $at (i32.add (local.get $at) (local.get $rowBytes)))
        (br $rows))))

  ;; 4: dx = in0 * dy - in1 - in2 * (x - in3), evaluated left to right as in JavaScript
  (func (export "inputGradient") (param $x i32) (param $y i32) (param $dx i32) (param $C i32) (param $r0 i32) (param $r1 i32)
    (param $in0 i32) (param $in1 i32) (param $in2 i32) (param $in3 i32)
    (local $rowBytes i32) (local $at i32) (local $end i32) (local $k i32) (local $v v128) (local $g v128) (local $c i32) (local $lo v128) (local $hi v128)
    (local.set $rowBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $at (i32.mul (local.get $r0) (local.get $rowBytes)))
    (local.set $end (i32.mul (local.get $r1) (local.get $rowBytes)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $k (i32.const 0))
        (loop $channels
          (local.set $v (v128.load align=4 (i32.add (local.get $x) (i32.add (local.get $at) (local.get $k)))))
          (local.set $g (v128.load align=4 (i32.add (local.get $y) (i32.add (local.get $at) (local.get $k)))))
          ;; Byte offset of this channel group in the float64 per-channel arrays.
          (local.set $c (i32.shl (local.get $k) (i32.const 1)))
          (local.set $lo
            (f64x2.sub
              (f64x2.sub
                (f64x2.mul (v128.load align=8 (i32.add (local.get $in0) (local.get $c))) (f64x2.promote_low_f32x4 (local.get $g)))
                (v128.load align=8 (i32.add (local.get $in1) (local.get $c))))
              (f64x2.mul (v128.load align=8 (i32.add (local.get $in2) (local.get $c)))
                (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (v128.load align=8 (i32.add (local.get $in3) (local.get $c)))))))
          (local.set $hi
            (f64x2.sub
              (f64x2.sub
                (f64x2.mul (v128.load offset=16 align=8 (i32.add (local.get $in0) (local.get $c)))
                  (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $g) (local.get $g))))
                (v128.load offset=16 align=8 (i32.add (local.get $in1) (local.get $c))))
              (f64x2.mul (v128.load offset=16 align=8 (i32.add (local.get $in2) (local.get $c)))
                (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))
                  (v128.load offset=16 align=8 (i32.add (local.get $in3) (local.get $c)))))))
          (v128.store align=4 (i32.add (local.get $dx) (i32.add (local.get $at) (local.get $k)))
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.demote_f64x2_zero (local.get $lo)) (f32x4.demote_f64x2_zero (local.get $hi))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br_if $channels (i32.lt_u (local.get $k) (local.get $rowBytes))))
        (local.set $at (i32.add (local.get $at) (local.get $rowBytes)))
        (br $rows))))

  ;; Max pooling's gradient, summed in float64 (sums: one float64 per input value, zeroed by the caller): each
  ;; window's dy goes to the first position in row-major order holding its maximum (strictly greater than
  ;; every earlier value, from -infinity, so NaN never wins), as the JavaScript kernel and the cpu backend do.
  ;; Windows are visited in the same order, so every position adds its gradients in the same order.
  (func (export "maxPoolGrad")
    (param $x i32) (param $dy i32) (param $sums i32) (param $batch i32) (param $inH i32) (param $inW i32)
    (param $outH i32) (param $outW i32) (param $C i32) (param $strideH i32) (param $strideW i32)
    (param $filterH i32) (param $filterW i32) (param $top i32) (param $left i32)
    (local $b i32) (local $oh i32) (local $ow i32) (local $h0 i32) (local $h1 i32) (local $w0 i32) (local $w1 i32)
    (local $h i32) (local $w i32) (local $k i32) (local $base i32) (local $dyAt i32) (local $i i32)
    (local $best v128) (local $at v128) (local $v v128) (local $m v128) (local $g v128)
    (block $batches_done (loop $batches
      (br_if $batches_done (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $oh (i32.const 0))
      (block $rows_done (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $oh) (local.get $outH)))
        (local.set $h0 (i32.sub (i32.mul (local.get $oh) (local.get $strideH)) (local.get $top)))
        (local.set $h1 (i32.add (local.get $h0) (local.get $filterH)))
        (if (i32.lt_s (local.get $h0) (i32.const 0)) (then (local.set $h0 (i32.const 0))))
        (if (i32.gt_s (local.get $h1) (local.get $inH)) (then (local.set $h1 (local.get $inH))))
        (local.set $ow (i32.const 0))
        (block $cols_done (loop $cols
          (br_if $cols_done (i32.ge_u (local.get $ow) (local.get $outW)))
          (local.set $w0 (i32.sub (i32.mul (local.get $ow) (local.get $strideW)) (local.get $left)))
          (local.set $w1 (i32.add (local.get $w0) (local.get $filterW)))
          (if (i32.lt_s (local.get $w0) (i32.const 0)) (then (local.set $w0 (i32.const 0))))
          (if (i32.gt_s (local.get $w1) (local.get $inW)) (then (local.set $w1 (local.get $inW))))
          ;; Element index of this window's dy, channel 0.
          (local.set $dyAt (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $outH)) (local.get $oh)) (local.get $outW)) (local.get $ow)) (local.get $C)))
          (local.set $k (i32.const 0))
          (block $groups_done (loop $groups
            (br_if $groups_done (i32.ge_u (local.get $k) (local.get $C)))
            (local.set $best (f32x4.splat (f32.const -inf)))
            (local.set $at (i32x4.splat (i32.const -1)))
            (local.set $h (local.get $h0))
            (block $wh_done (loop $wh
              (br_if $wh_done (i32.ge_s (local.get $h) (local.get $h1)))
              (local.set $w (local.get $w0))
              (block $ww_done (loop $ww
                (br_if $ww_done (i32.ge_s (local.get $w) (local.get $w1)))
                (local.set $base (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $inH)) (local.get $h)) (local.get $inW)) (local.get $w)) (local.get $C)) (local.get $k)))
                (local.set $v (v128.load align=4 (i32.add (local.get $x) (i32.shl (local.get $base) (i32.const 2)))))
                (local.set $m (f32x4.gt (local.get $v) (local.get $best)))
                (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $m)))
                (local.set $at (v128.bitselect (i32x4.add (i32x4.splat (local.get $base)) (v128.const i32x4 0 1 2 3)) (local.get $at) (local.get $m)))
                (local.set $w (i32.add (local.get $w) (i32.const 1)))
                (br $ww)))
              (local.set $h (i32.add (local.get $h) (i32.const 1)))
              (br $wh)))
            (local.set $g (v128.load align=4 (i32.add (local.get $dy) (i32.shl (i32.add (local.get $dyAt) (local.get $k)) (i32.const 2)))))
            (local.set $i (i32x4.extract_lane 0 (local.get $at)))
            (if (i32.ge_s (local.get $i) (i32.const 0)) (then
              (f64.store align=8 (i32.add (local.get $sums) (i32.shl (local.get $i) (i32.const 3)))
                (f64.add (f64.load align=8 (i32.add (local.get $sums) (i32.shl (local.get $i) (i32.const 3)))) (f64.promote_f32 (f32x4.extract_lane 0 (local.get $g)))))))
            (local.set $i (i32x4.extract_lane 1 (local.get $at)))
            (if (i32.ge_s (local.get $i) (i32.const 0)) (then
              (f64.store align=8 (i32.add (local.get $sums) (i32.shl (local.get $i) (i32.const 3)))
                (f64.add (f64.load align=8 (i32.add (local.get $sums) (i32.shl (local.get $i) (i32.const 3)))) (f64.promote_f32 (f32x4.extract_lane 1 (local.get $g)))))))
            (local.set $i (i32x4.extract_lane 2 (local.get $at)))
            (if (i32.ge_s (local.get $i) (i32.const 0)) (then
              (f64.store align=8 (i32.add (local.get $sums) (i32.shl (local.get $i) (i32.const 3)))
                (f64.add (f64.load align=8 (i32.add (local.get $sums) (i32.shl (local.get $i) (i32.const 3)))) (f64.promote_f32 (f32x4.extract_lane 2 (local.get $g)))))))
            (local.set $i (i32x4.extract_lane 3 (local.get $at)))
            (if (i32.ge_s (local.get $i) (i32.const 0)) (then
              (f64.store align=8 (i32.add (local.get $sums) (i32.shl (local.get $i) (i32.const 3)))
                (f64.add (f64.load align=8 (i32.add (local.get $sums) (i32.shl (local.get $i) (i32.const 3)))) (f64.promote_f32 (f32x4.extract_lane 3 (local.get $g)))))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $groups)))
          (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
          (br $cols)))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (br $rows)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $batches)))
  )

  ;; n float64 sums rounded to float32 (n a multiple of 4), as a Float32Array.set from a Float64Array rounds.
  (func (export "narrowSums") (param $sums i32) (param $out i32) (param $n i32)
    (local $i i32)
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (v128.store align=4 (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (v128.load align=8 (i32.add (local.get $sums) (i32.shl (local.get $i) (i32.const 3)))))
          (f32x4.demote_f64x2_zero (v128.load offset=16 align=8 (i32.add (local.get $sums) (i32.shl (local.get $i) (i32.const 3)))))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $each)))
  )

  ;; Adam's update over n values, as the optimiser's composite computes it in float32, operation for
  ;; operation: m' = b1 m + c1 g; v' = b2 v + c2 g^2; delta = step (m' / (sqrt(v') + eps)), where c1, c2
  ;; are 1 - b1 and 1 - b2 as float32. Reads g, m, v and writes m', v', delta (all float32 arrays).
  (func (export "adam") (param $g i32) (param $m i32) (param $v i32) (param $mOut i32) (param $vOut i32) (param $delta i32)
    (param $n i32) (param $b1 f32) (param $c1 f32) (param $b2 f32) (param $c2 f32) (param $step f32) (param $eps f32)
    (local $i i32) (local $end i32) (local $gv v128) (local $mv v128) (local $vv v128)
    (local $B1 v128) (local $C1 v128) (local $B2 v128) (local $C2 v128) (local $STEP v128) (local $EPS v128)
    (local $gs f32) (local $ms f32) (local $vs f32)
    (local.set $B1 (f32x4.splat (local.get $b1)))
    (local.set $C1 (f32x4.splat (local.get $c1)))
    (local.set $B2 (f32x4.splat (local.get $b2)))
    (local.set $C2 (f32x4.splat (local.get $c2)))
    (local.set $STEP (f32x4.splat (local.get $step)))
    (local.set $EPS (f32x4.splat (local.get $eps)))
    ;; Byte offsets: four values at a time up to the last multiple of 4, then one at a time.
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done (loop $fours
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $gv (v128.load align=4 (i32.add (local.get $g) (local.get $i))))
      (local.set $mv (f32x4.add (f32x4.mul (local.get $B1) (v128.load align=4 (i32.add (local.get $m) (local.get $i))))
        (f32x4.mul (local.get $C1) (local.get $gv))))
      (local.set $vv (f32x4.add (f32x4.mul (local.get $B2) (v128.load align=4 (i32.add (local.get $v) (local.get $i))))
        (f32x4.mul (local.get $C2) (f32x4.mul (local.get $gv) (local.get $gv)))))
      (v128.store align=4 (i32.add (local.get $mOut) (local.get $i)) (local.get $mv))
      (v128.store align=4 (i32.add (local.get $vOut) (local.get $i)) (local.get $vv))
      (v128.store align=4 (i32.add (local.get $delta) (local.get $i))
        (f32x4.mul (local.get $STEP) (f32x4.div (local.get $mv) (f32x4.add (f32x4.sqrt (local.get $vv)) (local.get $EPS)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $fours)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $tail_done (loop $ones
      (br_if $tail_done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $gs (f32.load align=4 (i32.add (local.get $g) (local.get $i))))
      (local.set $ms (f32.add (f32.mul (local.get $b1) (f32.load align=4 (i32.add (local.get $m) (local.get $i))))
        (f32.mul (local.get $c1) (local.get $gs))))
      (local.set $vs (f32.add (f32.mul (local.get $b2) (f32.load align=4 (i32.add (local.get $v) (local.get $i))))
        (f32.mul (local.get $c2) (f32.mul (local.get $gs) (local.get $gs)))))
      (f32.store align=4 (i32.add (local.get $mOut) (local.get $i)) (local.get $ms))
      (f32.store align=4 (i32.add (local.get $vOut) (local.get $i)) (local.get $vs))
      (f32.store align=4 (i32.add (local.get $delta) (local.get $i))
        (f32.mul (local.get $step) (f32.div (local.get $ms) (f32.add (f32.sqrt (local.get $vs)) (local.get $eps)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $ones)))
  )
)
