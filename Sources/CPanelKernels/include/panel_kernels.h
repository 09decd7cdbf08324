#ifndef GRAFT_PANEL_KERNELS_H
#define GRAFT_PANEL_KERNELS_H

/// AVX-512 register blocks for PanelGemm (GraftTensor), compiled for AVX-512 whatever the build's
/// target CPU and called only when the CPU has it (`graft_cpu_has_avx512f`): one build runs at full
/// width on AVX-512 machines and stays on the AVX2 blocks elsewhere.

/// Whether this CPU (and the OS, for the zmm state) supports AVX-512F.
int graft_cpu_has_avx512f(void);

/// One 6 × 32 block of C (= or += A panel · B): A is a packed panel (6 floats per step of k), B is
/// two adjacent 16-column slices `b0` and `b1` with row stride `ldb`, C has row stride `ldc`.
/// The same fused multiply-adds in the same order as PanelGemm's AVX2 6 × 16 block, so the results
/// are bitwise the same.
void graft_panel_block_6x32_avx512(long k, const float *a, const float *b0, const float *b1, long ldb,
                                   float *c, long ldc, int accumulate);

/// C = A · B for the row panels `panel0 ..< panel1` of A, where B has few columns (an output plane of
/// 28×28, 14×14 or 7×7): A (m × k) is packed in 32-row column panels, row r's element p at `32 · (r / 32) · k +
/// w · p + r % 32` with w = 32, or 16 for a last panel of at most 16 rows (zero-padded to w); B is k × n
/// with row stride `ldb`; C is m × n with row stride `ldc`. Only C's rows of those panels are written.
/// Each stored element is (sum + residual) + bias[row], then max(0, ·) when `relu` (NaN kept): `residual`
/// (laid out as C) and `bias` (m floats) may be NULL.
void graft_column_panel_gemm_avx512(long m, long n, long k, const float *a, long panel0, long panel1,
                                    const float *b, long ldb, float *c, long ldc, const float *bias,
                                    const float *residual, int relu);

/// Whether this CPU supports AVX2 and FMA.
int graft_cpu_has_avx2_fma(void);

/// One channel of a stride-1, undilated k×k depthwise convolution, four output rows at a time:
/// `out` (out_h × out_w, row-major) = bias + taps over `padded`, the zero-padded input plane with
/// row stride `stride`. Needs out_h ≥ 4, and `padded` readable for out_h + k − 1 rows of
/// (out_w rounded up to whole vectors: 16 floats for AVX-512, 8 for AVX2) + k − 1 floats.
/// The sums are those of the one-vector loop (the same fused multiply-adds in the same order).
void graft_depthwise_rows4_avx512(const float *padded, long stride, const float *filter, long k, float bias,
                                  float *out, long out_w, long out_h);
void graft_depthwise_rows4_avx2(const float *padded, long stride, const float *filter, long k, float bias,
                                float *out, long out_w, long out_h);

/// The same at stride 2 for k = 3 and 5 (returns 0, doing nothing, for any other k): `padded` readable
/// for 2·out_h + k − 2 rows of 2 · (out_w rounded up to whole vectors) + k − 1 floats.
int graft_depthwise_rows4_avx512_s2(const float *padded, long stride, const float *filter, long k, float bias,
                                    float *out, long out_w, long out_h);
int graft_depthwise_rows4_avx2_s2(const float *padded, long stride, const float *filter, long k, float bias,
                                  float *out, long out_w, long out_h);

/// Adds one image's filter gradient of one channel of an undilated k×k depthwise convolution at stride
/// `step` to `grad` (k·k doubles): grad[i·k + j] += Σ dy[oh·out_w + ow] · padded[(step·oh + i)·stride
/// + step·ow + j], over the same padded input plane as the forward kernel (with its readable slack).
/// For k = 3, 5, 7 at stride 1 and k = 3, 5 at stride 2; returns 0 (and adds nothing) otherwise.
int graft_depthwise_rows4_avx512_filter_grad(const float *padded, long stride, const float *dy, long k, long step,
                                             long out_w, long out_h, double *grad);
int graft_depthwise_rows4_avx2_filter_grad(const float *padded, long stride, const float *dy, long k, long step,
                                           long out_w, long out_h, double *grad);

/// Winograd F(2×2, 3×3) input transform V = Bᵀ d B of `tiles` consecutive tiles of one tile row of one
/// channel, read straight from the input plane: r0…r3 are the tile row's four input rows (NULL for a
/// row in the zero padding above or below), `col` the column of the first tile's first input (negative
/// in the left padding), `width` the row's length; columns outside 0..<width read as zeros and are not
/// touched. Tile t reads columns col + 2t … col + 2t + 3. Transform ξ of tile t goes to
/// dst[ξ · stride + t]; nothing is stored past tile `tiles` − 1. Exact adds and subtracts.
void graft_winograd_input_avx512(const float *r0, const float *r1, const float *r2, const float *r3, long col,
                                 long width, long tiles, float *dst, long stride);
void graft_winograd_input_avx2(const float *r0, const float *r1, const float *r2, const float *r3, long col,
                               long width, long tiles, float *dst, long stride);

/// Winograd's output transform y = Aᵀ M A + bias (+ residual, then ReLU when `relu`) for `tiles` tiles of
/// one tile row of one output channel: M[ξ] of tile t at m[ξ · stride + t]; `out` is the tile row's first
/// output row at the run's first tile (the second row `out_w` further, written when `two_rows`), of
/// which `columns` (≤ 2 · tiles) exist; `residual` (or NULL) is laid out as `out`. The same operations
/// in the same order as Winograd.transformOutput.
void graft_winograd_output_avx512(const float *m, long stride, long tiles, float bias, const float *residual,
                                  float *out, long out_w, long columns, int two_rows, int relu);
void graft_winograd_output_avx2(const float *m, long stride, long tiles, float bias, const float *residual,
                                float *out, long out_w, long columns, int two_rows, int relu);

/// The output-gradient transform Z = A ∂y Aᵀ of Winograd's weight gradient for `tiles` tiles of one
/// tile row of one channel: row0 and row1 are the tile row's two ∂y rows at the run's first tile
/// (row1 NULL past the plane's bottom edge: zeros), of which only the first `inside` columns exist
/// (the rest read as zeros, and are not read). Z[ξ] of tile t goes to dst[ξ · stride + t].
void graft_winograd_output_gradient_avx512(const float *row0, const float *row1, long inside, long tiles,
                                           float *dst, long stride);
void graft_winograd_output_gradient_avx2(const float *row0, const float *row1, long inside, long tiles,
                                         float *dst, long stride);

/// dst[t] = src[2t] for t < n (the rows of a stride-2 convolution's column matrix), reading only
/// src[0 … 2n − 2].
// Winograd F(4×4, 3×3) (winograd4_transforms.h), the same contracts as the F(2×2, 3×3) kernels above with
// tiles four columns apart: the input transform reads six rows (rows[i] null where the row is padding)
// and writes 36 transforms; the output transform writes `rows` (1…4) rows of `columns` columns; the
// output-gradient transform reads four rows of ∂y (null past the plane), columns at or past `inside` zero.
void graft_winograd4_input_avx512(const float *const *rows, long col, long width, long tiles, float *dst, long stride);
void graft_winograd4_input_avx2(const float *const *rows, long col, long width, long tiles, float *dst, long stride);
// The input transform of two tile rows of at most 8 tiles each per vector (winograd4_pairs.h): rows[0…5] the
// first run's input rows, rows[6…11] the second's; the second run's transforms follow the first's in dst.
void graft_winograd4_input_pairs_avx512(const float *const *rows, long col, long width, long tiles, float *dst,
                                        long stride);
void graft_winograd4_output_avx512(const float *m, long stride, long tiles, float bias, const float *residual,
                                   float *out, long out_w, long columns, long rows, int relu);
void graft_winograd4_output_avx2(const float *m, long stride, long tiles, float bias, const float *residual,
                                 float *out, long out_w, long columns, long rows, int relu);
void graft_winograd4_output_gradient_avx512(const float *const *rows, long inside, long tiles, float *dst, long stride);
void graft_winograd4_output_gradient_avx2(const float *const *rows, long inside, long tiles, float *dst, long stride);

void graft_even_lanes_avx512(const float *src, float *dst, long n);
void graft_even_lanes_avx2(const float *src, float *dst, long n);

// One output row of an undilated max pooling (horizontal stride 1 or 2) and each window's argmax, as
// torch's CPU kernel: the first maximum in row-major window order wins, a NaN wins. rows[i] (i < kh) is
// input row top + i between −∞ borders, its element 0 input column −pad_w, readable through column
// (out_w + DW_W) · stride + kw + DW_W; row_index[i] the flat index of that row's column 0; first_row the
// flat index of the window's first real row (each lane's argmax starts at its first real element).
void graft_max_pool_argmax_avx512(const float *const *rows, const int *row_index, long kh, long kw, long stride,
                                  long pad_w, long out_w, int first_row, float *values, int *indices);
void graft_max_pool_argmax_avx2(const float *const *rows, const int *row_index, long kh, long kw, long stride,
                                long pad_w, long out_w, int first_row, float *values, int *indices);

/// One row of a stride-2, undilated convolution's column matrix (one input channel, one tap), on
/// AVX-512 CPUs: dst[oh · out_w + ow] = plane[(2 · oh + top) · in_w + 2 · ow + left] for oh < out_h,
/// ow < out_w where that lies inside the in_h × in_w plane, 0 where it is padding. Reads nothing outside
/// the plane's rows and columns.
void graft_im2col_s2_avx512(const float *plane, long in_h, long in_w, long top, long left, long out_h, long out_w,
                            float *dst);

/// The activations whose polynomials are worth C kernels (activation_kernels.c).
enum { GRAFT_ACTIVATION_SILU = 1, GRAFT_ACTIVATION_SIGMOID = 2, GRAFT_ACTIVATION_GELU = 3 };

/// dst[i] = f(src[i] + bias) for i < n, f SiLU (x / (1 + e^−x)), sigmoid or the exact GELU (x · Φ(x))
/// as GraftTensor's FastMath computes them (exp clamped to [−87.34, 88.38], NaN kept; fused
/// multiply-adds in the polynomials). `dst` may be `src`.
void graft_activate_avx512(int kind, const float *src, float *dst, long n, float bias);
void graft_activate_avx2(int kind, const float *src, float *dst, long n, float bias);

#endif
