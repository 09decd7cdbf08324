// Winograd F(4×4, 3×3) data transforms for one run of tiles of one channel (see include/panel_kernels.h),
// written once over the DW_ vector macros of depthwise_kernels.c and compiled for each instruction set.
// WG4_INPUT, WG4_OUTPUT and WG4_OUTPUT_GRADIENT name the functions. With the interpolation points
// 0, ±1, ±2, ∞ (Lavin & Gray 2015):
//
//   Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
//   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
//
// Tile t of a run covers input columns 4t…4t+5 (output columns 4t…4t+3); a vector holds DW_W
// consecutive tiles, so its input columns 0…3 are every fourth lane of four consecutive loads, and
// columns 4 and 5 are columns 0 and 1 moved down a lane. Transform ξ = 6i + j goes to dst[ξ · stride + t].

// Columns 0…3 of DW_W tiles from the 4·DW_W floats in a, b, e, f: two rounds of even/odd lanes.
#define WG4_DEINTERLEAVE(a, b, e, f, out)                                                                   \
    do {                                                                                                    \
        const DW_V ev_ = DW_EVEN(a, b), od_ = DW_ODD(a, b), ev2_ = DW_EVEN(e, f), od2_ = DW_ODD(e, f);       \
        (out)[0] = DW_EVEN(ev_, ev2_); (out)[1] = DW_EVEN(od_, od2_);                                       \
        (out)[2] = DW_ODD(ev_, ev2_); (out)[3] = DW_ODD(od_, od2_);                                         \
    } while (0)

// Bᵀ d for six values, once along the rows, once down the columns.
#define WG4_BT(d, out)                                                                                      \
    do {                                                                                                    \
        const DW_V four_ = DW_SET1(4.0f), minus_four_ = DW_SET1(-4.0f), minus_five_ = DW_SET1(-5.0f);       \
        const DW_V t0_ = DW_FMA(minus_four_, (d)[2], (d)[4]), t1_ = DW_FMA(minus_four_, (d)[1], (d)[3]);     \
        const DW_V t2_ = (d)[4] - (d)[2], t3_ = ((d)[3] - (d)[1]) * DW_SET1(2.0f);                           \
        (out)[0] = DW_FMA(four_, (d)[0], DW_FMA(minus_five_, (d)[2], (d)[4]));                              \
        (out)[1] = t0_ + t1_; (out)[2] = t0_ - t1_;                                                         \
        (out)[3] = t2_ + t3_; (out)[4] = t2_ - t3_;                                                         \
        (out)[5] = DW_FMA(four_, (d)[1], DW_FMA(minus_five_, (d)[3], (d)[5]));                              \
    } while (0)

// Aᵀ m for six values: four.
#define WG4_AT(m, out)                                                                                      \
    do {                                                                                                    \
        const DW_V s_ = (m)[1] + (m)[2], d_ = (m)[1] - (m)[2], s2_ = (m)[3] + (m)[4], d2_ = (m)[3] - (m)[4]; \
        (out)[0] = (m)[0] + s_ + s2_;                                                                       \
        (out)[1] = DW_FMA(DW_SET1(2.0f), d2_, d_);                                                          \
        (out)[2] = DW_FMA(DW_SET1(4.0f), s2_, s_);                                                          \
        (out)[3] = DW_FMA(DW_SET1(8.0f), d2_, d_) + (m)[5];                                                 \
    } while (0)

// A p for four values: six, the adjoint of Aᵀ.
#define WG4_A(p, out)                                                                                       \
    do {                                                                                                    \
        const DW_V a_ = (p)[0] + (p)[2], b_ = (p)[1] + (p)[3];                                              \
        const DW_V c_ = DW_FMA(DW_SET1(4.0f), (p)[2], (p)[0]);                                              \
        const DW_V e_ = DW_FMA(DW_SET1(8.0f), (p)[3], (p)[1] * DW_SET1(2.0f));                              \
        (out)[0] = (p)[0]; (out)[1] = a_ + b_; (out)[2] = a_ - b_;                                          \
        (out)[3] = c_ + e_; (out)[4] = c_ - e_; (out)[5] = (p)[3];                                          \
    } while (0)

__attribute__((target(DW_TARGET)))
void WG4_INPUT(const float *const *rows, long col, long width, long tiles, float *dst, long stride) {
    for (long t = 0; t < tiles; t += DW_W) {
        const long c = col + 4 * t;
        DW_V across[6][6];
        if (c >= 0 && c + 4 * DW_W + 2 <= width) {
            for (int i = 0; i < 6; i++) {
                DW_V d[6] = {DW_SET1(0.0f), DW_SET1(0.0f), DW_SET1(0.0f), DW_SET1(0.0f), DW_SET1(0.0f), DW_SET1(0.0f)};
                if (rows[i] != 0) {
                    const float *p = rows[i] + c;
                    WG4_DEINTERLEAVE(DW_LOAD(p), DW_LOAD(p + DW_W), DW_LOAD(p + 2 * DW_W), DW_LOAD(p + 3 * DW_W), d);
                    // Columns 4 and 5 of tile t are columns 0 and 1 of tile t + 1.
                    d[4] = DW_SHIFT_IN(d[0], p[4 * DW_W]);
                    d[5] = DW_SHIFT_IN(d[1], p[4 * DW_W + 1]);
                }
                WG4_BT(d, across[i]);
            }
        } else {
            // At the plane's left or right edge: columns outside 0..<width read as zeros (the padding)
            // and are not touched; the four loads' masks serve every row.
            DW_MASK mask[4];
            for (int k = 0; k < 4; k++) mask[k] = DW_RANGE_MASK(-c - k * DW_W, width - c - k * DW_W);
            const long last = c + 4 * DW_W;  // the input column of lane DW_W − 1's column 4
            for (int i = 0; i < 6; i++) {
                DW_V d[6] = {DW_SET1(0.0f), DW_SET1(0.0f), DW_SET1(0.0f), DW_SET1(0.0f), DW_SET1(0.0f), DW_SET1(0.0f)};
                if (rows[i] != 0) {
                    const float *p = rows[i] + c;
                    WG4_DEINTERLEAVE(DW_LOAD_MASKED(p, mask[0]), DW_LOAD_MASKED(p + DW_W, mask[1]),
                                     DW_LOAD_MASKED(p + 2 * DW_W, mask[2]), DW_LOAD_MASKED(p + 3 * DW_W, mask[3]), d);
                    const float *row = rows[i];
                    d[4] = DW_SHIFT_IN(d[0], last >= 0 && last < width ? row[last] : 0.0f);
                    d[5] = DW_SHIFT_IN(d[1], last + 1 >= 0 && last + 1 < width ? row[last + 1] : 0.0f);
                }
                WG4_BT(d, across[i]);
            }
        }
        DW_V v[6][6];
        for (int j = 0; j < 6; j++) {
            DW_V column[6] = {across[0][j], across[1][j], across[2][j], across[3][j], across[4][j], across[5][j]};
            DW_V out[6];
            WG4_BT(column, out);
            for (int i = 0; i < 6; i++) v[i][j] = out[i];
        }
        WG_STORE_TRANSFORMS(dst + t, stride, tiles - t, &v[0][0], 36);
    }
}

__attribute__((target(DW_TARGET)))
void WG4_OUTPUT(const float *m, long stride, long tiles, float bias, const float *residual, float *out, long out_w,
                long columns, long rows, int relu) {
    const DW_V b = DW_SET1(bias), zero = DW_SET1(0.0f);
    for (long t = 0; t < tiles; t += DW_W) {
        const long left = tiles - t;
        // Aᵀ M down each column j; the M past the run is not read.
        DW_V s[6][4];
        for (int j = 0; j < 6; j++) {
            DW_V q[6];
            for (int i = 0; i < 6; i++) {
                const float *p = m + (6 * i + j) * stride + t;
                q[i] = left >= DW_W ? DW_LOAD(p) : DW_LOAD_N(p, left);
            }
            WG4_AT(q, s[j]);
        }
        const long n = columns - 4 * t;
        for (long r = 0; r < rows; r++) {
            // Row r of the tiles' outputs: Aᵀ across, then the four columns of each tile interleaved.
            DW_V across[6] = {s[0][r], s[1][r], s[2][r], s[3][r], s[4][r], s[5][r]};
            DW_V y[4];
            WG4_AT(across, y);
            const DW_V lo02 = DW_INTERLEAVE_LOW(y[0], y[2]), hi02 = DW_INTERLEAVE_HIGH(y[0], y[2]);
            const DW_V lo13 = DW_INTERLEAVE_LOW(y[1], y[3]), hi13 = DW_INTERLEAVE_HIGH(y[1], y[3]);
            DW_V v[4] = {DW_INTERLEAVE_LOW(lo02, lo13), DW_INTERLEAVE_HIGH(lo02, lo13),
                         DW_INTERLEAVE_LOW(hi02, hi13), DW_INTERLEAVE_HIGH(hi02, hi13)};
            float *row = out + r * out_w + 4 * t;
            for (int k = 0; k < 4; k++) {
                const long here = n - k * DW_W;
                if (here <= 0) break;
                DW_V x = v[k] + b;
                if (residual != 0) {
                    const float *res = residual + r * out_w + 4 * t + k * DW_W;
                    x = x + (here >= DW_W ? DW_LOAD(res) : DW_LOAD_RANGE(res, 0, here));
                }
                // max(0, x) keeps a NaN (the second operand wins when either is NaN), as x < 0 ? 0 : x does.
                if (relu) x = DW_MAX(zero, x);
                if (here >= DW_W) {
                    DW_STORE(row + k * DW_W, x);
                } else {
                    DW_STORE_N(row + k * DW_W, x, here);
                }
            }
        }
    }
}

__attribute__((target(DW_TARGET)))
void WG4_OUTPUT_GRADIENT(const float *const *rows, long inside, long tiles, float *dst, long stride) {
    for (long t = 0; t < tiles; t += DW_W) {
        // Columns at or past `inside` are past the plane's edge: zero, as are missing rows.
        const long lo = inside - 4 * t;
        DW_V across[4][6];
        for (int r = 0; r < 4; r++) {
            DW_V p[4] = {DW_SET1(0.0f), DW_SET1(0.0f), DW_SET1(0.0f), DW_SET1(0.0f)};
            if (rows[r] != 0) {
                const float *q = rows[r] + 4 * t;
                DW_V l[4];
                for (int k = 0; k < 4; k++) {
                    const long here = lo - k * DW_W;
                    l[k] = here >= DW_W ? DW_LOAD(q + k * DW_W) : DW_LOAD_N(q + k * DW_W, here > 0 ? here : 0);
                }
                WG4_DEINTERLEAVE(l[0], l[1], l[2], l[3], p);
            }
            WG4_A(p, across[r]);
        }
        DW_V z[6][6];
        for (int j = 0; j < 6; j++) {
            DW_V column[4] = {across[0][j], across[1][j], across[2][j], across[3][j]};
            DW_V out[6];
            WG4_A(column, out);
            for (int i = 0; i < 6; i++) z[i][j] = out[i];
        }
        WG_STORE_TRANSFORMS(dst + t, stride, tiles - t, &z[0][0], 36);
    }
}
