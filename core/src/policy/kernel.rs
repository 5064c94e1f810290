//! The native pass's arithmetic: fully connected layers computed in tiles sized to the vector
//! registers, layer normalisation, ReLU, and the softmax's exponential, all without heap, std or
//! closures handed to library code (which would be compiled without the chosen instruction set).

use super::architecture::LAYER_NORM_EPSILON;
#[cfg(test)]
use super::architecture::LayerKind;

/// A fully connected layer `y = W x + b` with `I` inputs and `O` outputs.
///
/// Aligned to a cache line, so that where a network lands in memory does not decide how many of
/// its vector loads straddle two lines (at 4 bytes, a network's speed varied by a tenth from one
/// allocation to the next).
#[derive(Debug, Clone, PartialEq)]
#[repr(align(64))]
pub struct Linear<const I: usize, const O: usize> {
    /// `weight_t[i][o]` is PyTorch's `weight[o][i]`.
    pub weight_t: [[f32; O]; I],
    /// The bias.
    pub bias: [f32; O],
}

/// Rows computed together in one tile: each weight read serves them all. [`Linear::rows`] handles
/// the 1 to 4 rows left over; change both together.
pub(super) const TILE_ROWS: usize = 5;

/// How the layers are computed on the instruction set at hand: tiles of [`TILE_ROWS`] rows by `W`
/// outputs, a lone row in blocks of `V` outputs (both sized to the vector registers), and
/// multiply-adds fused when `FUSED` (only where the instruction set has FMA; without the standard
/// library they are never fused).
#[derive(Debug, Clone, Copy)]
pub(super) struct Kernel<const W: usize, const V: usize, const FUSED: bool>;

/// A multiply-add, fused or not.
pub(super) trait MulAdd: Copy {
    /// `a x b + acc`.
    fn mul_add(self, a: f32, b: f32, acc: f32) -> f32;
}

impl<const W: usize, const V: usize, const FUSED: bool> MulAdd for Kernel<W, V, FUSED> {
    #[inline(always)]
    fn mul_add(self, a: f32, b: f32, acc: f32) -> f32 {
        #[cfg(feature = "std")]
        if FUSED {
            return a.mul_add(b, acc);
        }
        a * b + acc
    }
}

/// `v[at..at + B]`.
#[inline(always)]
fn block<const O: usize, const B: usize>(v: &[f32; O], at: usize) -> [f32; B] {
    v[at..at + B].try_into().expect("block inside the row")
}

/// The kernel of any instruction set: scalar-width tiles, no fused multiply-add.
pub(super) const PORTABLE: Kernel<8, 32, false> = Kernel;

impl<const I: usize, const O: usize> Linear<I, O> {
    /// A layer of zeros.
    pub const ZERO: Self = Linear { weight_t: [[0.0; O]; I], bias: [0.0; O] };

    /// `W x + b`.
    pub fn apply(&self, x: &[f32; I]) -> [f32; O] {
        let [y] = self.rows(PORTABLE, core::array::from_ref(x), 0..O);
        y
    }

    /// `W x + b` for each of `N` rows, only the outputs in `columns` (the others stay 0).
    #[inline(always)]
    pub(super) fn rows<const N: usize, const W: usize, const V: usize, const F: bool>(
        &self,
        k: Kernel<W, V, F>,
        x: &[[f32; I]; N],
        columns: core::ops::Range<usize>,
    ) -> [[f32; O]; N] {
        let mut y = [[0.0f32; O]; N];
        let mut row = 0;
        while row + TILE_ROWS <= N {
            self.columns::<N, TILE_ROWS, W>(k, x, &mut y, row, columns.clone());
            row += TILE_ROWS;
        }
        // The rows left over make one narrower tile; a lone row takes wider blocks instead.
        match N - row {
            0 => {}
            1 => self.columns::<N, 1, V>(k, x, &mut y, row, columns),
            2 => self.columns::<N, 2, W>(k, x, &mut y, row, columns),
            3 => self.columns::<N, 3, W>(k, x, &mut y, row, columns),
            _ => self.columns::<N, 4, W>(k, x, &mut y, row, columns),
        }
        y
    }

    /// Rows `row..row + T` over `columns`: blocks of `B` outputs, then narrower blocks.
    #[inline(always)]
    fn columns<const N: usize, const T: usize, const B: usize>(
        &self,
        k: impl MulAdd,
        x: &[[f32; I]; N],
        y: &mut [[f32; O]; N],
        row: usize,
        columns: core::ops::Range<usize>,
    ) {
        let x: &[[f32; I]; T] = x[row..row + T].try_into().expect("rows inside the batch");
        let y: &mut [[f32; O]; T] = (&mut y[row..row + T]).try_into().expect("rows inside the batch");
        let (mut at, end) = (columns.start, columns.end);
        while at + B <= end {
            self.tile::<T, B>(k, x, y, at);
            at += B;
        }
        if B > 64 && at + 64 <= end {
            self.tile::<T, 64>(k, x, y, at);
            at += 64;
        }
        if B > 32 && at + 32 <= end {
            self.tile::<T, 32>(k, x, y, at);
            at += 32;
        }
        if B > 16 && at + 16 <= end {
            self.tile::<T, 16>(k, x, y, at);
            at += 16;
        }
        if B > 8 && at + 8 <= end {
            self.tile::<T, 8>(k, x, y, at);
            at += 8;
        }
        if B > 4 && at + 4 <= end {
            self.tile::<T, 4>(k, x, y, at);
            at += 4;
        }
        while at < end {
            self.tile::<T, 1>(k, x, y, at);
            at += 1;
        }
    }

    /// `T` rows, outputs `at..at + B`: `T x B` accumulators, one pass over the inputs.
    #[inline(always)]
    fn tile<const T: usize, const B: usize>(
        &self,
        k: impl MulAdd,
        x: &[[f32; I]; T],
        y: &mut [[f32; O]; T],
        at: usize,
    ) {
        let mut acc = [block::<O, B>(&self.bias, at); T];
        for (i, weights) in self.weight_t.iter().enumerate() {
            let w = block::<O, B>(weights, at);
            for (a, xs) in acc.iter_mut().zip(x) {
                let xi = xs[i];
                for l in 0..B {
                    a[l] = k.mul_add(xi, w[l], a[l]);
                }
            }
        }
        for (out, a) in y.iter_mut().zip(&acc) {
            out[at..at + B].copy_from_slice(a);
        }
    }
}

/// A layer's parameters, read and written in PyTorch's order.
pub(super) trait Weights {
    /// What the layer is, as the architecture's table describes it.
    #[cfg(test)]
    fn kind(&self) -> (LayerKind, usize, usize);
    /// Call `f` with every parameter.
    fn visit(&self, f: &mut dyn FnMut(f32));
    /// Set every parameter from `next`.
    fn load(&mut self, next: &mut dyn FnMut() -> f32);
}

impl<const I: usize, const O: usize> Weights for Linear<I, O> {
    #[cfg(test)]
    fn kind(&self) -> (LayerKind, usize, usize) {
        (LayerKind::Linear, I, O)
    }

    fn visit(&self, f: &mut dyn FnMut(f32)) {
        for o in 0..O {
            for row in &self.weight_t {
                f(row[o]);
            }
        }
        self.bias.iter().for_each(|&b| f(b));
    }

    fn load(&mut self, next: &mut dyn FnMut() -> f32) {
        for o in 0..O {
            for row in self.weight_t.iter_mut() {
                row[o] = next();
            }
        }
        self.bias.iter_mut().for_each(|b| *b = next());
    }
}

/// Layer normalisation over `N` features with a learned scale and shift.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerNorm<const N: usize> {
    /// Scale.
    pub gamma: [f32; N],
    /// Shift.
    pub beta: [f32; N],
}

impl<const N: usize> LayerNorm<N> {
    /// A layer norm of zeros.
    pub const ZERO: Self = LayerNorm { gamma: [0.0; N], beta: [0.0; N] };

    /// `(x - mean) / sqrt(var + eps) x gamma + beta`.
    #[inline(always)]
    pub fn apply(&self, x: &[f32; N]) -> [f32; N] {
        let sum = |a: f32, b: f32| a + b;
        let mean = halving(x, sum) / N as f32;
        let mut y = [0.0f32; N];
        for i in 0..N {
            y[i] = (x[i] - mean) * (x[i] - mean);
        }
        let inv = 1.0 / libm::sqrtf(halving(&y, sum) / N as f32 + LAYER_NORM_EPSILON);
        for i in 0..N {
            y[i] = (x[i] - mean) * inv * self.gamma[i] + self.beta[i];
        }
        y
    }
}

impl<const N: usize> Weights for LayerNorm<N> {
    #[cfg(test)]
    fn kind(&self) -> (LayerKind, usize, usize) {
        (LayerKind::LayerNorm, N, N)
    }

    fn visit(&self, f: &mut dyn FnMut(f32)) {
        self.gamma.iter().chain(&self.beta).for_each(|&v| f(v));
    }

    fn load(&mut self, next: &mut dyn FnMut() -> f32) {
        self.gamma.iter_mut().chain(self.beta.iter_mut()).for_each(|v| *v = next());
    }
}

/// `max(x, 0)`, NaN kept (as PyTorch's ReLU does).
#[inline(always)]
pub(super) fn relu<const N: usize>(mut x: [f32; N]) -> [f32; N] {
    for v in x.iter_mut() {
        *v = if *v < 0.0 { 0.0 } else { *v };
    }
    x
}

/// [`relu`] of every row, over the rows laid end to end (a contiguous pass vectorises cleanly).
#[inline(always)]
pub(super) fn relu_rows<const N: usize, const O: usize>(mut x: [[f32; O]; N]) -> [[f32; O]; N] {
    for v in x.as_flattened_mut() {
        *v = if *v < 0.0 { 0.0 } else { *v };
    }
    x
}

/// `exp(x)` for `x <= 0` (softmax arguments less their maximum), in plain arithmetic that
/// vectorises: `2^n exp(r)` with `x = n ln 2 + r`, `|r| <= ln 2 / 2`, and `exp(r)` by Cephes'
/// degree-7 polynomial. Within 2 units in the last place of `libm::expf` (tested).
///
/// Exactly 0 below [`EXP_CUTOFF`]: such terms are below 1.6e-28 of the softmax's largest (which is
/// 1), far under one rounding of it, and products of them would be subnormal numbers, which the
/// processor computes a hundred times slower.
#[inline(always)]
pub(super) fn exp_nonpositive(k: impl MulAdd, x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const P: [f32; 6] = [1.987_569_1e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 0.5];
    const ROUND: f32 = 12_582_912.0;
    let cut = x < EXP_CUTOFF;
    let x = x.clamp(EXP_CUTOFF, 0.0);
    // Adding 1.5 x 2^23 rounds to the nearest integer n, which then stands in the low bits.
    let t = x * core::f32::consts::LOG2_E + ROUND;
    let n = t - ROUND;
    let r = k.mul_add(-n, LN2_LO, k.mul_add(-n, LN2_HI, x));
    let mut poly = P[0];
    for c in &P[1..] {
        poly = k.mul_add(poly, r, *c);
    }
    let e = k.mul_add(r * r, poly, 1.0 + r);
    // 2^n: n + 127 in the exponent bits (integer arithmetic, which vectorises, unlike `as i32`).
    let scale = f32::from_bits(t.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(127) << 23);
    if cut { 0.0 } else { e * scale }
}

/// `op` over the values by halving: its elementwise steps vectorise, where a running fold is a
/// chain of dependent scalar operations.
#[inline(always)]
fn halving<const N: usize>(v: &[f32; N], op: impl Fn(f32, f32) -> f32) -> f32 {
    let mut w = *v;
    let mut n = N;
    while n > 1 {
        // The upper half folds onto the lower; an odd middle value waits for the next round.
        let half = n / 2;
        for i in 0..half {
            w[i] = op(w[i], w[n - half + i]);
        }
        n -= half;
    }
    w[0]
}

/// Below this, [`exp_nonpositive`] is 0.
const EXP_CUTOFF: f32 = -64.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_libm() {
        let mut worst = 0.0f32;
        for k in 0..=640_000 {
            let x = -(k as f32) * 1e-4;
            let reference = libm::expf(x);
            for ours in [exp_nonpositive(PORTABLE, x), exp_nonpositive(Kernel::<8, 32, true>, x)] {
                worst = worst.max((ours - reference).abs() / reference);
            }
        }
        // Two units in the last place of an f32 in [1, 2).
        assert!(worst <= 2.0 * f32::EPSILON, "relative error {worst:e}");
        assert_eq!(exp_nonpositive(PORTABLE, 0.0), 1.0);
        assert_eq!(exp_nonpositive(PORTABLE, EXP_CUTOFF - 1e-3), 0.0);
        assert_eq!(exp_nonpositive(PORTABLE, f32::NEG_INFINITY), 0.0);
        assert!(exp_nonpositive(PORTABLE, f32::NAN).is_nan());
    }

    #[test]
    fn tiled_rows_equal_one_row_at_a_time() {
        let mut l = std::boxed::Box::new(Linear::<20, 40>::ZERO);
        let mut k = 0u32;
        l.load(&mut || {
            k += 1;
            ((k * 7919 % 1000) as f32 - 500.0) / 500.0
        });
        let x: [[f32; 20]; 10] =
            core::array::from_fn(|t| core::array::from_fn(|i| (t * 20 + i) as f32 / 100.0));
        let tiled = l.rows(Kernel::<16, 64, true>, &x, 0..40);
        for (t, row) in x.iter().enumerate() {
            let one = l.apply(row);
            let by_hand: [f32; 40] =
                core::array::from_fn(|o| l.bias[o] + (0..20).map(|i| l.weight_t[i][o] * row[i]).sum::<f32>());
            for o in 0..40 {
                assert!((tiled[t][o] - one[o]).abs() <= 1e-5 && (one[o] - by_hand[o]).abs() <= 1e-5);
            }
        }
        // Outside the columns asked for, the outputs stay 0.
        let part = l.rows(Kernel::<16, 64, true>, &x, 0..24);
        assert!(
            part.iter().zip(&tiled).all(|(p, t)| p[..24] == t[..24] && p[24..].iter().all(|&v| v == 0.0))
        );
    }

    #[test]
    fn linear_and_layer_norm_by_hand() {
        let l = Linear::<2, 2> { weight_t: [[1.0, 2.0], [3.0, 4.0]], bias: [0.5, -0.5] };
        // W = [[1, 3], [2, 4]]: y = [1*1 + 3*2 + 0.5, 2*1 + 4*2 - 0.5].
        assert_eq!(l.apply(&[1.0, 2.0]), [7.5, 9.5]);
        let n = LayerNorm::<2> { gamma: [1.0, 2.0], beta: [0.0, 1.0] };
        let y = n.apply(&[1.0, 3.0]); // mean 2, var 1
        let inv = 1.0 / (1.0f32 + 1e-5).sqrt();
        assert!((y[0] + inv).abs() < 1e-6 && (y[1] - (2.0 * inv + 1.0)).abs() < 1e-6);
    }
}
