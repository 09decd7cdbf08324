// Products with few columns on AVX-512 (see graft_column_panel_gemm_avx512 in include/panel_kernels.h),
// included by panel_kernels.c inside its AVX-512 section.
//
// Why vectors run down the rows of C here: the columns are an output plane's pixels, and planes of 14×14
// or 7×7 fill 16-float vectors badly (49 = 3 vectors + 1), while rows are output channels, a multiple of
// 16 in every network of the zoo but a few narrow EfficientNet layers. A register block is 32 rows (two
// vectors of a filter panel) × CP_WIDTH columns: each step of k loads the panel's two vectors and
// broadcasts CP_WIDTH floats of one row of B. The accumulators hold columns of C, which are turned into
// C's rows by a transpose in registers at the end of the block.

#define CP_WIDTH 14
// Panels up to 384 KB (k ≤ 3072) prefetch the next one (see graft_column_panel_gemm_avx512): two of
// them still fit a core's 1 MB L2. ConvNeXt-Tiny's last-stage 3072→768 layers gained 5–10 % cold with
// the bound raised from 2048 (GraftKernelBench --cold, in-process A/B); ResNet-50's 3×3 layers at 7×7
// (k = 4608, 576 KB panels) were level with a prefetch, so they stay without.
#define CP_PREFETCH_K 3072

// Stores the 16 × nb block whose columns are cols[0 ..< nb] (column j: rows 0…15 of C's column j) as C's
// rows 0 ..< rows, lanes `mask` of each: a 16 × 16 transpose in registers (columns past nb are zeros) by
// the usual four rounds — 32-bit and 64-bit interleaves of column pairs, then two rounds of 128-bit
// lane shuffles — instead of a pass through memory.
//
// On the way out each row r gets the epilogue of a convolution (ConvEpilogue's none and ReLU cases, in its
// order): + residual row (same layout as C; NULL: none), + bias[r] (NULL: none), then max(0, ·) when
// `relu` (NaN stays NaN, as Lanes.relu).
static inline __attribute__((always_inline, target("avx512f"))) void cp_store_transposed(
    const __m512 *cols, const int nb, float *c, long ldc, long rows, __mmask16 mask, const float *bias,
    const float *residual, int relu) {
    __m512 v[16], t[16], u[16];
#pragma clang loop unroll(full)
    for (int j = 0; j < 16; j++) v[j] = j < nb ? cols[j] : _mm512_setzero_ps();
    // t[2i], t[2i + 1]: within each 128-bit lane L, elements 4L, 4L + 1 (resp. 4L + 2, 4L + 3) of
    // columns 2i and 2i + 1, interleaved.
#pragma clang loop unroll(full)
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]);
    }
    // u[4i + q], lane L: row 4L + q, columns 4i … 4i + 3.
#pragma clang loop unroll(full)
    for (int i = 0; i < 4; i++) {
        const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 2]);
        const __m512d d = _mm512_castps_pd(t[4 * i + 1]), e = _mm512_castps_pd(t[4 * i + 3]);
        u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
        u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(d, e));
        u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(d, e));
    }
    // Row 4L + q gathers lane L of u[q], u[4 + q], u[8 + q], u[12 + q]: a 4 × 4 transpose of lanes.
#pragma clang loop unroll(full)
    for (int q = 0; q < 4; q++) {
        const __m512 s0 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0x44), s1 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0xEE);
        const __m512 s2 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0x44);
        const __m512 s3 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0xEE);
        const __m512 row[4] = {_mm512_shuffle_f32x4(s0, s2, 0x88), _mm512_shuffle_f32x4(s0, s2, 0xDD),
                               _mm512_shuffle_f32x4(s1, s3, 0x88), _mm512_shuffle_f32x4(s1, s3, 0xDD)};
#pragma clang loop unroll(full)
        for (int l = 0; l < 4; l++) {
            const long r = 4 * l + q;
            if (r >= rows) continue;
            __m512 out = row[l];
            if (residual) out = _mm512_add_ps(out, _mm512_maskz_loadu_ps(mask, residual + r * ldc));
            if (bias) out = _mm512_add_ps(out, _mm512_set1_ps(bias[r]));
            if (relu) out = _mm512_max_ps(_mm512_setzero_ps(), out);
            _mm512_mask_storeu_ps(c + r * ldc, mask, out);
        }
    }
}

// One block: C[r][j] for r < rows, j < nb = Σ_p A[r][p] · B[p][j]. `a` is the panel (`as` floats per
// step of k: 32, or 16 for a one-vector panel, `mv` = 1); `nb` and `mv` are constants after inlining.
static inline __attribute__((always_inline, target("avx512f,fma"))) void cp_block(long k, const float *a, long as, const float *b,
                                                           long ldb, float *c, long ldc, long rows,
                                                           const int nb, const int mv, const float *bias,
                                                           const float *residual, int relu, const float *pf) {
    __m512 lo[CP_WIDTH], hi[CP_WIDTH];
#pragma clang loop unroll(full)
    for (int j = 0; j < CP_WIDTH; j++) {
        if (j < nb) {
            lo[j] = _mm512_setzero_ps();
            hi[j] = _mm512_setzero_ps();
        }
    }
    for (long p = 0; p < k; p++) {
        if (pf) _mm_prefetch((const char *)(pf + 16 * p), _MM_HINT_T1);
        const __m512 a0 = _mm512_loadu_ps(a);
        const __m512 a1 = mv == 2 ? _mm512_loadu_ps(a + 16) : a0;
#pragma clang loop unroll(full)
        for (int j = 0; j < CP_WIDTH; j++) {
            if (j < nb) {
                const __m512 s = _mm512_set1_ps(b[j]);
                lo[j] = _mm512_fmadd_ps(a0, s, lo[j]);
                if (mv == 2) hi[j] = _mm512_fmadd_ps(a1, s, hi[j]);
            }
        }
        a += as;
        b += ldb;
    }
    const __mmask16 mask = (__mmask16)((1u << nb) - 1u);
    cp_store_transposed(lo, nb, c, ldc, rows < 16 ? rows : 16, mask, bias, residual, relu);
    if (mv == 2 && rows > 16)
        cp_store_transposed(hi, nb, c + 16 * ldc, ldc, rows - 16, mask, bias ? bias + 16 : NULL,
                            residual ? residual + 16 * ldc : NULL, relu);
}

// Every width 1 … CP_WIDTH as its own specialization (constant trip counts keep the accumulators in
// registers), for one- and two-vector panels.
#define CP_CASE(w) \
    case w: \
        if (mv == 2) cp_block(k, a, as, b, ldb, c, ldc, rows, w, 2, bias, residual, relu, NULL); \
        else cp_block(k, a, as, b, ldb, c, ldc, rows, w, 1, bias, residual, relu, NULL); \
        break;

__attribute__((target("avx512f,fma"))) static void cp_block_any(long k, const float *a, long as, const float *b, long ldb, float *c, long ldc, long rows,
                         long width, int mv, const float *bias, const float *residual, int relu) {
    switch (width) {
        CP_CASE(1) CP_CASE(2) CP_CASE(3) CP_CASE(4) CP_CASE(5) CP_CASE(6) CP_CASE(7)
        CP_CASE(8) CP_CASE(9) CP_CASE(10) CP_CASE(11) CP_CASE(12) CP_CASE(13) CP_CASE(14)
        default: break;
    }
}
#undef CP_CASE

__attribute__((target("avx512f,fma")))
void graft_column_panel_gemm_avx512(long m, long n, long k, const float *a, long panel0, long panel1,
                                    const float *b, long ldb, float *c, long ldc, const float *bias,
                                    const float *residual, int relu) {
    for (long q = panel0; q < panel1; q++) {
        const long r0 = 32 * q, rows = m - r0 < 32 ? m - r0 : 32;
        const int mv = rows > 16 ? 2 : 1;
        const float *panel = a + r0 * k;
        float *cq = c + r0 * ldc;
        const float *bq = bias ? bias + r0 : NULL;
        const float *rq = residual ? residual + r0 * ldc : NULL;
        // The next panel, a line per step of k while the second and third blocks run on this one (in
        // cache by then): otherwise the first block of each panel waits on DRAM for all of it, asking
        // for more than DRAM delivers, while the other blocks leave DRAM idle. Prefetches never fault;
        // these stay inside the next panel (32·k floats, or 16·k for a last panel of ≤ 16 rows; only the
        // last panel has fewer than 32 rows, so a panel with a next one is a full 32·k). Measured
        // with the caches flushed before each run (GraftKernelBench --cold), as a network's weights
        // arrive: ResNet-50's 7×7-plane 1×1 layers 10–20 % faster (1024→2048 s2 1.44 → 1.15 ms).
        const float *next = q + 1 < panel1 && k <= CP_PREFETCH_K ? panel + 32 * k : NULL;
        const long next_rows = m - r0 - 32;
        long j = 0;
        for (long block = 0; j + CP_WIDTH <= n; j += CP_WIDTH, block++) {
            const float *rj = rq ? rq + j : NULL;
            const float *pf = next && (block == 1 || (block == 2 && next_rows > 16)) ? next + 16 * k * (block - 1) : NULL;
            if (mv == 2) cp_block(k, panel, 32, b + j, ldb, cq + j, ldc, rows, CP_WIDTH, 2, bq, rj, relu, pf);
            else cp_block(k, panel, 16, b + j, ldb, cq + j, ldc, rows, CP_WIDTH, 1, bq, rj, relu, pf);
        }
        if (j < n)
            cp_block_any(k, panel, mv == 2 ? 32 : 16, b + j, ldb, cq + j, ldc, rows, n - j, mv, bq,
                         rq ? rq + j : NULL, relu);
    }
}
