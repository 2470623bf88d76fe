;; SIMD kernels that run on tfjs-backend-wasm's own heap (./simd-kernels.ts): local response
;; normalisation, its gradient, the max-pool gradient and the conv filter gradient, four float32
;; lanes at a time, and the optimizer's SGD step in one pass over each weight.
;; The module imports the backend's memory and has no memory, data or state of its own, so it
;; writes only where it is told. Every offset is a byte offset into that memory; channel counts
;; are multiples of 4 (the caller checks), and scratch holds what the function says.
;; Regenerate ./simd-kernels-wasm.ts after an edit: npm run build:kernels.
(module
  (import "env" "memory" (memory 0))

  ;; 1/n ↦ n^-β for β = 0.75 (kind 0), 0.5 (kind 1) or 1 (kind 2).
  (func $pow_inverse (param $v v128) (param $kind i32) (result v128)
    (if (result v128) (i32.eqz (local.get $kind))
      (then (f32x4.sqrt (f32x4.mul (local.get $v) (f32x4.sqrt (local.get $v)))))
      (else
        (if (result v128) (i32.eq (local.get $kind) (i32.const 1))
          (then (f32x4.sqrt (local.get $v)))
          (else (local.get $v))))))

  ;; Sum of the 2r+1 vectors at pad, pad+4, …, pad+8r bytes: the window of every channel of a
  ;; 4-channel block, read from a zero-padded row (the block starts r floats into it).
  (func $window (param $at i32) (param $r i32) (result v128)
    (local $sum v128) (local $k i32) (local $end i32)
    (local.set $sum (v128.load (local.get $at)))
    (local.set $end (i32.add (local.get $at) (i32.shl (local.get $r) (i32.const 3))))
    (local.set $k (i32.add (local.get $at) (i32.const 4)))
    (block $done
      (loop $next
        (br_if $done (i32.gt_u (local.get $k) (local.get $end)))
        (local.set $sum (f32x4.add (local.get $sum) (v128.load (local.get $k))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $next)))
    (local.get $sum))

  ;; Copies `channels` floats from src to dst+4r, squared when `square` is set, into a row whose
  ;; r floats on each side stay zero.
  (func $fill_row (param $src i32) (param $dst i32) (param $channels i32) (param $r i32)
                  (param $square i32)
    (local $c i32) (local $v v128) (local $out i32)
    (local.set $out (i32.add (local.get $dst) (i32.shl (local.get $r) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $c) (local.get $channels)))
        (local.set $v (v128.load (i32.add (local.get $src) (i32.shl (local.get $c) (i32.const 2)))))
        (if (local.get $square) (then (local.set $v (f32x4.mul (local.get $v) (local.get $v)))))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2))) (local.get $v))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $next))))

  ;; Zeroes the r-float margins of a row of `channels` floats at dst.
  (func $zero_margins (param $dst i32) (param $channels i32) (param $r i32)
    (local $k i32) (local $right i32)
    (local.set $right (i32.add (local.get $dst)
      (i32.shl (i32.add (local.get $channels) (local.get $r)) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (local.get $r)))
        (f32.store (i32.add (local.get $dst) (i32.shl (local.get $k) (i32.const 2))) (f32.const 0))
        (f32.store (i32.add (local.get $right) (i32.shl (local.get $k) (i32.const 2))) (f32.const 0))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next))))

  ;; y = x · (bias + α·Σ_{|j−c| ≤ r} x_j²)^−β over each pixel's channels.
  ;; x, y: [pixels·channels] float32. scratch: channels + 2r floats.
  (func (export "lrn")
    (param $x i32) (param $y i32) (param $pixels i32) (param $channels i32) (param $r i32)
    (param $bias f32) (param $alpha f32) (param $kind i32) (param $scratch i32)
    (local $p i32) (local $c i32) (local $row i32) (local $at i32)
    (local $vbias v128) (local $valpha v128) (local $n v128)
    (local.set $vbias (f32x4.splat (local.get $bias)))
    (local.set $valpha (f32x4.splat (local.get $alpha)))
    (call $zero_margins (local.get $scratch) (local.get $channels) (local.get $r))
    (block $pixels_done
      (loop $pixel
        (br_if $pixels_done (i32.ge_u (local.get $p) (local.get $pixels)))
        (local.set $row (i32.shl (i32.mul (local.get $p) (local.get $channels)) (i32.const 2)))
        (call $fill_row (i32.add (local.get $x) (local.get $row)) (local.get $scratch)
          (local.get $channels) (local.get $r) (i32.const 1))
        (local.set $c (i32.const 0))
        (block $channels_done
          (loop $channel
            (br_if $channels_done (i32.ge_u (local.get $c) (local.get $channels)))
            (local.set $at (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2))))
            (local.set $n (f32x4.add (local.get $vbias) (f32x4.mul (local.get $valpha)
              (call $window (i32.add (local.get $scratch) (i32.shl (local.get $c) (i32.const 2)))
                (local.get $r)))))
            (v128.store (i32.add (local.get $y) (local.get $at))
              (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $at)))
                (call $pow_inverse (f32x4.div (f32x4.splat (f32.const 1)) (local.get $n))
                  (local.get $kind))))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $channel)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $pixel))))

  ;; The input gradient of lrn: with N_c = bias + α·Σ_{j∈W(c)} x_j²,
  ;;   dx_c = dy_c·N_c^−β − 2αβ·x_c·Σ_{i∈W(c)} dy_i·y_i / N_i.
  ;; x, y, dy, dx: [pixels·channels]. scratch: 3·(channels + 2r) floats.
  (func (export "lrn_grad")
    (param $x i32) (param $y i32) (param $dy i32) (param $dx i32) (param $pixels i32)
    (param $channels i32) (param $r i32) (param $bias f32) (param $alpha f32) (param $beta f32)
    (param $kind i32) (param $scratch i32)
    (local $p i32) (local $c i32) (local $row i32) (local $at i32) (local $off i32)
    (local $squares i32) (local $terms i32) (local $scaled i32) (local $width i32)
    (local $vbias v128) (local $valpha v128) (local $vscale v128) (local $inv v128)
    (local.set $vbias (f32x4.splat (local.get $bias)))
    (local.set $valpha (f32x4.splat (local.get $alpha)))
    (local.set $vscale (f32x4.splat (f32.mul (f32.const -2) (f32.mul (local.get $alpha) (local.get $beta)))))
    (local.set $width (i32.shl (i32.add (local.get $channels) (i32.shl (local.get $r) (i32.const 1))) (i32.const 2)))
    (local.set $squares (local.get $scratch))
    (local.set $terms (i32.add (local.get $squares) (local.get $width)))
    (local.set $scaled (i32.add (local.get $terms) (local.get $width)))
    (call $zero_margins (local.get $squares) (local.get $channels) (local.get $r))
    (call $zero_margins (local.get $terms) (local.get $channels) (local.get $r))
    (block $pixels_done
      (loop $pixel
        (br_if $pixels_done (i32.ge_u (local.get $p) (local.get $pixels)))
        (local.set $row (i32.shl (i32.mul (local.get $p) (local.get $channels)) (i32.const 2)))
        (call $fill_row (i32.add (local.get $x) (local.get $row)) (local.get $squares)
          (local.get $channels) (local.get $r) (i32.const 1))
        ;; N^−β into scaled, dy·y/N into the terms row.
        (local.set $c (i32.const 0))
        (block $first_done
          (loop $first
            (br_if $first_done (i32.ge_u (local.get $c) (local.get $channels)))
            (local.set $off (i32.shl (local.get $c) (i32.const 2)))
            (local.set $at (i32.add (local.get $row) (local.get $off)))
            (local.set $inv (f32x4.div (f32x4.splat (f32.const 1))
              (f32x4.add (local.get $vbias) (f32x4.mul (local.get $valpha)
                (call $window (i32.add (local.get $squares) (local.get $off)) (local.get $r))))))
            (v128.store (i32.add (local.get $scaled) (local.get $off))
              (call $pow_inverse (local.get $inv) (local.get $kind)))
            (v128.store
              (i32.add (local.get $terms) (i32.add (local.get $off) (i32.shl (local.get $r) (i32.const 2))))
              (f32x4.mul (local.get $inv)
                (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $at)))
                  (v128.load (i32.add (local.get $y) (local.get $at))))))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $first)))
        (local.set $c (i32.const 0))
        (block $second_done
          (loop $second
            (br_if $second_done (i32.ge_u (local.get $c) (local.get $channels)))
            (local.set $off (i32.shl (local.get $c) (i32.const 2)))
            (local.set $at (i32.add (local.get $row) (local.get $off)))
            (v128.store (i32.add (local.get $dx) (local.get $at))
              (f32x4.add
                (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $at)))
                  (v128.load (i32.add (local.get $scaled) (local.get $off))))
                (f32x4.mul (local.get $vscale)
                  (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $at)))
                    (call $window (i32.add (local.get $terms) (local.get $off)) (local.get $r))))))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $second)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $pixel))))

  ;; The max-pool gradient: each window's dy goes to the first element (row-major within the
  ;; window) holding the window's max, per channel, as ./wasm-pool.ts describes; a window of
  ;; nothing above −Infinity (NaN) drops its gradient. Windows clipped by the edges read only
  ;; inside the input. x, dx: [batch, inH, inW, channels]; dy: [batch, outH, outW, channels].
  ;; dx is cleared first. No scratch.
  (func (export "max_pool_grad")
    (param $x i32) (param $dy i32) (param $dx i32) (param $batch i32)
    (param $inH i32) (param $inW i32) (param $channels i32) (param $outH i32) (param $outW i32)
    (param $kh i32) (param $kw i32) (param $sh i32) (param $sw i32) (param $top i32) (param $left i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $iy i32) (local $ix i32) (local $c i32)
    (local $y0 i32) (local $y1 i32) (local $x0 i32) (local $x1 i32)
    (local $pixel i32) (local $o i32) (local $at i32) (local $lane i32)
    (local $best v128) (local $where v128) (local $v v128) (local $idx v128) (local $gt v128)
    (local $g v128) (local $dst i32)
    (memory.fill (local.get $dx) (i32.const 0)
      (i32.shl (i32.mul (i32.mul (local.get $batch) (local.get $channels))
        (i32.mul (local.get $inH) (local.get $inW))) (i32.const 2)))
    (block $batch_done (loop $each_b
      (br_if $batch_done (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $oy (i32.const 0))
      (block $rows_done (loop $each_oy
        (br_if $rows_done (i32.ge_u (local.get $oy) (local.get $outH)))
        (local.set $y0 (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $top)))
        (local.set $y1 (i32.add (local.get $y0) (local.get $kh)))
        (if (i32.lt_s (local.get $y0) (i32.const 0)) (then (local.set $y0 (i32.const 0))))
        (if (i32.gt_s (local.get $y1) (local.get $inH)) (then (local.set $y1 (local.get $inH))))
        (local.set $ox (i32.const 0))
        (block $cols_done (loop $each_ox
          (br_if $cols_done (i32.ge_u (local.get $ox) (local.get $outW)))
          (local.set $x0 (i32.sub (i32.mul (local.get $ox) (local.get $sw)) (local.get $left)))
          (local.set $x1 (i32.add (local.get $x0) (local.get $kw)))
          (if (i32.lt_s (local.get $x0) (i32.const 0)) (then (local.set $x0 (i32.const 0))))
          (if (i32.gt_s (local.get $x1) (local.get $inW)) (then (local.set $x1 (local.get $inW))))
          ;; dy's element offset of this output pixel's first channel.
          (local.set $o (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $outH))
            (local.get $oy)) (local.get $outW)) (local.get $ox)) (local.get $channels)))
          (local.set $c (i32.const 0))
          (block $channels_done (loop $each_c
            (br_if $channels_done (i32.ge_u (local.get $c) (local.get $channels)))
            (local.set $best (f32x4.splat (f32.const -inf)))
            (local.set $where (i32x4.splat (i32.const -1)))
            (local.set $iy (local.get $y0))
            (block $wy_done (loop $each_iy
              (br_if $wy_done (i32.ge_s (local.get $iy) (local.get $y1)))
              (local.set $ix (local.get $x0))
              (block $wx_done (loop $each_ix
                (br_if $wx_done (i32.ge_s (local.get $ix) (local.get $x1)))
                ;; x's element offset of channel c at (b, iy, ix).
                (local.set $pixel (i32.add (i32.mul (i32.add (i32.mul (i32.add
                  (i32.mul (local.get $b) (local.get $inH)) (local.get $iy)) (local.get $inW))
                  (local.get $ix)) (local.get $channels)) (local.get $c)))
                (local.set $v (v128.load (i32.add (local.get $x) (i32.shl (local.get $pixel) (i32.const 2)))))
                (local.set $gt (f32x4.gt (local.get $v) (local.get $best)))
                (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $gt)))
                (local.set $idx (i32x4.add (i32x4.splat (local.get $pixel))
                  (v128.const i32x4 0 1 2 3)))
                (local.set $where (v128.bitselect (local.get $idx) (local.get $where) (local.get $gt)))
                (local.set $ix (i32.add (local.get $ix) (i32.const 1)))
                (br $each_ix)))
              (local.set $iy (i32.add (local.get $iy) (i32.const 1)))
              (br $each_iy)))
            (local.set $g (v128.load (i32.add (local.get $dy)
              (i32.shl (i32.add (local.get $o) (local.get $c)) (i32.const 2)))))
            (call $scatter (local.get $dx) (i32x4.extract_lane 0 (local.get $where)) (f32x4.extract_lane 0 (local.get $g)))
            (call $scatter (local.get $dx) (i32x4.extract_lane 1 (local.get $where)) (f32x4.extract_lane 1 (local.get $g)))
            (call $scatter (local.get $dx) (i32x4.extract_lane 2 (local.get $where)) (f32x4.extract_lane 2 (local.get $g)))
            (call $scatter (local.get $dx) (i32x4.extract_lane 3 (local.get $where)) (f32x4.extract_lane 3 (local.get $g)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $each_c)))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $each_ox)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $each_oy)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $each_b))))

  ;; One SGD-with-momentum update of n floats (core/train/optimizer.ts), each product and sum
  ;; rounded in the order of the tensor ops it replaces, so the results are the same floats:
  ;;   step = (g + w·decay)·negEps;   v' = v·mu + step;
  ;;   w' = w + v', or with nesterov w + (v'·mu + step).
  ;; One pass reads w, g and v and writes w' and v'; the ops took six passes over the weight.
  ;; w, g, v, wOut, vOut: n floats each. No scratch.
  (func (export "sgd_momentum")
    (param $w i32) (param $g i32) (param $v i32) (param $w_out i32) (param $v_out i32)
    (param $n i32) (param $neg_eps f32) (param $decay f32) (param $mu f32) (param $nesterov i32)
    (local $at i32) (local $end i32) (local $vector_end i32)
    (local $weight v128) (local $step v128) (local $velocity v128)
    (local $sweight f32) (local $sstep f32) (local $svelocity f32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vector_end (i32.and (local.get $end) (i32.const -16)))
    (block $vectors_done (loop $each_vector
      (br_if $vectors_done (i32.ge_u (local.get $at) (local.get $vector_end)))
      (local.set $weight (v128.load (i32.add (local.get $w) (local.get $at))))
      (local.set $step (f32x4.mul
        (f32x4.add (v128.load (i32.add (local.get $g) (local.get $at)))
          (f32x4.mul (local.get $weight) (f32x4.splat (local.get $decay))))
        (f32x4.splat (local.get $neg_eps))))
      (local.set $velocity (f32x4.add
        (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $at))) (f32x4.splat (local.get $mu)))
        (local.get $step)))
      (v128.store (i32.add (local.get $v_out) (local.get $at)) (local.get $velocity))
      (v128.store (i32.add (local.get $w_out) (local.get $at))
        (f32x4.add (local.get $weight)
          (if (result v128) (local.get $nesterov)
            (then (f32x4.add (f32x4.mul (local.get $velocity) (f32x4.splat (local.get $mu)))
              (local.get $step)))
            (else (local.get $velocity)))))
      (local.set $at (i32.add (local.get $at) (i32.const 16)))
      (br $each_vector)))
    (block $tail_done (loop $each_float
      (br_if $tail_done (i32.ge_u (local.get $at) (local.get $end)))
      (local.set $sweight (f32.load (i32.add (local.get $w) (local.get $at))))
      (local.set $sstep (f32.mul
        (f32.add (f32.load (i32.add (local.get $g) (local.get $at)))
          (f32.mul (local.get $sweight) (local.get $decay)))
        (local.get $neg_eps)))
      (local.set $svelocity (f32.add
        (f32.mul (f32.load (i32.add (local.get $v) (local.get $at))) (local.get $mu))
        (local.get $sstep)))
      (f32.store (i32.add (local.get $v_out) (local.get $at)) (local.get $svelocity))
      (f32.store (i32.add (local.get $w_out) (local.get $at))
        (f32.add (local.get $sweight)
          (if (result f32) (local.get $nesterov)
            (then (f32.add (f32.mul (local.get $svelocity) (local.get $mu)) (local.get $sstep)))
            (else (local.get $svelocity)))))
      (local.set $at (i32.add (local.get $at) (i32.const 4)))
      (br $each_float))))

  ;; The filter gradient of a conv2d:
  ;;   dw[i, j, c, o] = Σ_{b, p, q} x[b, p·sh + i − top, q·sw + j − left, c] · dy[b, p, q, o],
  ;; zero where the index falls outside x. Within one kernel row i, the terms (j, c) of an output
  ;; pixel lie side by side in x's row, so four of them load as one vector; a block of four such
  ;; rows of dw by eight output channels stays in eight vector registers while it sums over a
  ;; whole image's pixels, against dy rows that one image keeps in cache.
  ;; x: [batch, inH, inW, inC]; dy: [batch, outH, outW, outC] (outC a multiple of 8);
  ;; dw: [fh, fw, inC, outC]. scratch: padH·padW·inC + 4 floats for one zero-padded image, then
  ;; fh·rows·outC floats of sums, rows = fw·inC rounded up to a multiple of 4, with
  ;; padH = (outH − 1)·sh + fh and padW = (outW − 1)·sw + fw.
  (func (export "conv_filter_grad")
    (param $x i32) (param $dy i32) (param $dw i32) (param $batch i32)
    (param $inH i32) (param $inW i32) (param $inC i32) (param $outH i32) (param $outW i32)
    (param $outC i32) (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32)
    (param $top i32) (param $left i32) (param $scratch i32)
    (local $padH i32) (local $padW i32) (local $run i32) (local $rows i32) (local $sums i32)
    (local $b i32) (local $r i32) (local $h i32) (local $copy i32) (local $i i32) (local $k i32)
    (local $o i32) (local $p i32) (local $q i32) (local $at i32) (local $xa i32) (local $da i32)
    (local $xstep i32) (local $dstep i32) (local $rowBytes i32) (local $image i32)
    (local $xv v128) (local $d0 v128) (local $d1 v128) (local $s v128)
    (local $a00 v128) (local $a01 v128) (local $a10 v128) (local $a11 v128)
    (local $a20 v128) (local $a21 v128) (local $a30 v128) (local $a31 v128)
    (local.set $padH (i32.add (i32.mul (i32.sub (local.get $outH) (i32.const 1)) (local.get $sh))
      (local.get $fh)))
    (local.set $padW (i32.add (i32.mul (i32.sub (local.get $outW) (i32.const 1)) (local.get $sw))
      (local.get $fw)))
    (local.set $run (i32.mul (local.get $fw) (local.get $inC)))
    (local.set $rows (i32.and (i32.add (local.get $run) (i32.const 3)) (i32.const -4)))
    (local.set $image (i32.shl (i32.add (i32.mul (i32.mul (local.get $padH) (local.get $padW))
      (local.get $inC)) (i32.const 4)) (i32.const 2)))
    (local.set $sums (i32.add (local.get $scratch) (local.get $image)))
    (local.set $rowBytes (i32.shl (i32.mul (local.get $padW) (local.get $inC)) (i32.const 2)))
    (local.set $xstep (i32.shl (i32.mul (local.get $sw) (local.get $inC)) (i32.const 2)))
    (local.set $dstep (i32.shl (local.get $outC) (i32.const 2)))
    ;; Columns of x the padded image holds: those right of the padding, up to its width.
    (local.set $copy (i32.sub (local.get $padW) (local.get $left)))
    (if (i32.gt_s (local.get $copy) (local.get $inW)) (then (local.set $copy (local.get $inW))))
    (if (i32.lt_s (local.get $copy) (i32.const 0)) (then (local.set $copy (i32.const 0))))
    (memory.fill (local.get $sums) (i32.const 0)
      (i32.shl (i32.mul (i32.mul (local.get $fh) (local.get $rows)) (local.get $outC)) (i32.const 2)))
    (block $images_done (loop $each_image
      (br_if $images_done (i32.ge_u (local.get $b) (local.get $batch)))
      (memory.fill (local.get $scratch) (i32.const 0) (local.get $image))
      (local.set $r (i32.const 0))
      (block $pad_done (loop $each_row
        (br_if $pad_done (i32.ge_u (local.get $r) (local.get $padH)))
        (local.set $h (i32.sub (local.get $r) (local.get $top)))
        (if (i32.and (i32.ge_s (local.get $h) (i32.const 0)) (i32.lt_s (local.get $h) (local.get $inH)))
          (then (memory.copy
            (i32.add (local.get $scratch) (i32.add (i32.mul (local.get $r) (local.get $rowBytes))
              (i32.shl (i32.mul (local.get $left) (local.get $inC)) (i32.const 2))))
            (i32.add (local.get $x) (i32.shl (i32.mul (i32.mul (i32.add
              (i32.mul (local.get $b) (local.get $inH)) (local.get $h)) (local.get $inW))
              (local.get $inC)) (i32.const 2)))
            (i32.shl (i32.mul (local.get $copy) (local.get $inC)) (i32.const 2)))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $each_row)))
      (local.set $i (i32.const 0))
      (block $taps_done (loop $each_i
        (br_if $taps_done (i32.ge_u (local.get $i) (local.get $fh)))
        (local.set $k (i32.const 0))
        (block $groups_done (loop $each_k
          (br_if $groups_done (i32.ge_u (local.get $k) (local.get $rows)))
          (local.set $o (i32.const 0))
          (block $blocks_done (loop $each_o
            (br_if $blocks_done (i32.ge_u (local.get $o) (local.get $outC)))
            ;; The sums of rows k…k+3 of kernel row i, channels o…o+7.
            (local.set $at (i32.add (local.get $sums) (i32.shl (i32.add (i32.mul (i32.add
              (i32.mul (local.get $i) (local.get $rows)) (local.get $k)) (local.get $outC))
              (local.get $o)) (i32.const 2))))
            (local.set $a00 (v128.load (local.get $at)))
            (local.set $a01 (v128.load offset=16 (local.get $at)))
            (local.set $a10 (v128.load (i32.add (local.get $at) (local.get $dstep))))
            (local.set $a11 (v128.load offset=16 (i32.add (local.get $at) (local.get $dstep))))
            (local.set $a20 (v128.load (i32.add (local.get $at) (i32.shl (local.get $dstep) (i32.const 1)))))
            (local.set $a21 (v128.load offset=16 (i32.add (local.get $at) (i32.shl (local.get $dstep) (i32.const 1)))))
            (local.set $a30 (v128.load (i32.add (local.get $at) (i32.mul (local.get $dstep) (i32.const 3)))))
            (local.set $a31 (v128.load offset=16 (i32.add (local.get $at) (i32.mul (local.get $dstep) (i32.const 3)))))
            (local.set $p (i32.const 0))
            (block $out_rows_done (loop $each_p
              (br_if $out_rows_done (i32.ge_u (local.get $p) (local.get $outH)))
              (local.set $xa (i32.add (local.get $scratch) (i32.add
                (i32.mul (i32.add (i32.mul (local.get $p) (local.get $sh)) (local.get $i)) (local.get $rowBytes))
                (i32.shl (local.get $k) (i32.const 2)))))
              (local.set $da (i32.add (local.get $dy) (i32.shl (i32.add (i32.mul (i32.mul (i32.add
                (i32.mul (local.get $b) (local.get $outH)) (local.get $p)) (local.get $outW))
                (local.get $outC)) (local.get $o)) (i32.const 2))))
              (local.set $q (local.get $outW))
              (loop $each_q
                (local.set $xv (v128.load (local.get $xa)))
                (local.set $d0 (v128.load (local.get $da)))
                (local.set $d1 (v128.load offset=16 (local.get $da)))
                (local.set $s (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $xv) (local.get $xv)))
                (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul (local.get $s) (local.get $d1))))
                (local.set $s (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $xv) (local.get $xv)))
                (local.set $a10 (f32x4.add (local.get $a10) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $a11 (f32x4.add (local.get $a11) (f32x4.mul (local.get $s) (local.get $d1))))
                (local.set $s (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $xv) (local.get $xv)))
                (local.set $a20 (f32x4.add (local.get $a20) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $a21 (f32x4.add (local.get $a21) (f32x4.mul (local.get $s) (local.get $d1))))
                (local.set $s (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $xv) (local.get $xv)))
                (local.set $a30 (f32x4.add (local.get $a30) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $a31 (f32x4.add (local.get $a31) (f32x4.mul (local.get $s) (local.get $d1))))
                (local.set $xa (i32.add (local.get $xa) (local.get $xstep)))
                (local.set $da (i32.add (local.get $da) (local.get $dstep)))
                (local.set $q (i32.sub (local.get $q) (i32.const 1)))
                (br_if $each_q (local.get $q)))
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (br $each_p)))
            (v128.store (local.get $at) (local.get $a00))
            (v128.store offset=16 (local.get $at) (local.get $a01))
            (v128.store (i32.add (local.get $at) (local.get $dstep)) (local.get $a10))
            (v128.store offset=16 (i32.add (local.get $at) (local.get $dstep)) (local.get $a11))
            (v128.store (i32.add (local.get $at) (i32.shl (local.get $dstep) (i32.const 1))) (local.get $a20))
            (v128.store offset=16 (i32.add (local.get $at) (i32.shl (local.get $dstep) (i32.const 1))) (local.get $a21))
            (v128.store (i32.add (local.get $at) (i32.mul (local.get $dstep) (i32.const 3))) (local.get $a30))
            (v128.store offset=16 (i32.add (local.get $at) (i32.mul (local.get $dstep) (i32.const 3))) (local.get $a31))
            (local.set $o (i32.add (local.get $o) (i32.const 8)))
            (br $each_o)))
          (local.set $k (i32.add (local.get $k) (i32.const 4)))
          (br $each_k)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each_i)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $each_image)))
    ;; Rows past fw·inC summed whatever followed the run in x: only the others are dw.
    (local.set $i (i32.const 0))
    (block $out_done (loop $each_out
      (br_if $out_done (i32.ge_u (local.get $i) (local.get $fh)))
      (memory.copy
        (i32.add (local.get $dw) (i32.shl (i32.mul (i32.mul (local.get $i) (local.get $run)) (local.get $outC)) (i32.const 2)))
        (i32.add (local.get $sums) (i32.shl (i32.mul (i32.mul (local.get $i) (local.get $rows)) (local.get $outC)) (i32.const 2)))
        (i32.shl (i32.mul (local.get $run) (local.get $outC)) (i32.const 2)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each_out))))

  ;; dx[at] += g, unless at is −1 (a window whose max was never found).
  (func $scatter (param $dx i32) (param $at i32) (param $g f32)
    (local $addr i32)
    (if (i32.ge_s (local.get $at) (i32.const 0))
      (then
        (local.set $addr (i32.add (local.get $dx) (i32.shl (local.get $at) (i32.const 2))))
        (f32.store (local.get $addr) (f32.add (f32.load (local.get $addr)) (local.get $g))))))
)
