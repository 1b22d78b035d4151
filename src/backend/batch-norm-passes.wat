;; The wasm BatchNorm passes (batch-norm-passes.ts) with 128-bit SIMD: four channels of a pixel at a time,
;; each float32 widened to float64 as the JavaScript passes do, so the results are the same bit for bit.
;; The lane shuffles are written out at every use: as small functions, V8 did not inline them and each pass
;; ran 2-4x slower.
;; The module works on tfjs-wasm's own heap (imported). Addresses are byte offsets into it: x, y (y or dy)
;; and dx are float32 tensors in NHWC (a row is one pixel's C channels; C a multiple of 4), rows [r0, r1);
;; in0..in3 are per-channel float64 inputs, out0 and out1 per-channel float64 sums added to.
;; scripts/build-wasm-passes.ts assembles it twice: for the threaded build's heap, a shared memory (which must
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
)
