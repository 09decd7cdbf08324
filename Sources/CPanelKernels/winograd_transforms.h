// Winograd F(2×2, 3×3) data transforms for one run of tiles of one channel (see
// include/panel_kernels.h), written once over the DW_ vector macros of depthwise_kernels.c and
// compiled for each instruction set. WG_INPUT, WG_OUTPUT and WG_OUTPUT_GRADIENT name the functions.
//
// Tile t of a run covers input columns 2t…2t+3 (output columns 2t, 2t+1); a vector holds DW_W
// consecutive tiles, so its four input columns are the even and odd lanes of the loads at 2t and
// at 2t + 2. Transform ξ = 4i + j of the run goes to dst[ξ · stride + t].

// Bᵀ (d0, d1, d2, d3) = (d0 − d2, d1 + d2, d2 − d1, d1 − d3), once along the rows, once down the columns.
#define WG_BT(d0, d1, d2, d3, out)                                                                          \
    do {                                                                                                    \
        (out)[0] = (d0) - (d2); (out)[1] = (d1) + (d2); (out)[2] = (d2) - (d1); (out)[3] = (d1) - (d3);       \
    } while (0)

// A (p, q) = (p, p + q, p − q, −q), the adjoint of the output transform Aᵀ.
#define WG_A(p, q, out)                                                                                     \
    do {                                                                                                    \
        (out)[0] = (p); (out)[1] = (p) + (q); (out)[2] = (p) - (q); (out)[3] = -(q);                        \
    } while (0)

// The `count` transforms v[ξ] of a vector of tiles to dst[ξ · stride …], the first `remaining` lanes of
// each (F(2×2): 16, F(4×4) in winograd4_transforms.h: 36).
static inline __attribute__((always_inline, target(DW_TARGET)))
void WG_STORE_TRANSFORMS(float *dst, long stride, long remaining, const DW_V *v, int count) {
    for (int xi = 0; xi < count; xi++) {
        float *p = dst + xi * stride;
        if (remaining >= DW_W) {
            DW_STORE(p, v[xi]);
        } else {
            DW_STORE_N(p, v[xi], remaining);
        }
    }
}

__attribute__((target(DW_TARGET)))
void WG_INPUT(const float *r0, const float *r1, const float *r2, const float *r3, long col, long width, long tiles,
              float *dst, long stride) {
    const float *rows[4] = {r0, r1, r2, r3};
    for (long t = 0; t < tiles; t += DW_W) {
        const long c = col + 2 * t;
        DW_V across[4][4];
        if (c >= 0 && c + 2 + 2 * DW_W <= width) {
            for (int i = 0; i < 4; i++) {
                DW_V a = DW_SET1(0.0f), b = a, e = a, f = a;
                if (rows[i] != 0) {
                    const float *p = rows[i] + c;
                    a = DW_LOAD(p); b = DW_LOAD(p + DW_W); e = DW_LOAD(p + 2); f = DW_LOAD(p + 2 + DW_W);
                }
                WG_BT(DW_EVEN(a, b), DW_ODD(a, b), DW_EVEN(e, f), DW_ODD(e, f), across[i]);
            }
        } else {
            // At the plane's left or right edge: columns outside 0..<width read as zeros (the padding)
            // and are not touched; the four loads' masks serve every row.
            const DW_MASK ma = DW_RANGE_MASK(-c, width - c), mb = DW_RANGE_MASK(-c - DW_W, width - c - DW_W);
            const DW_MASK me = DW_RANGE_MASK(-c - 2, width - c - 2), mf = DW_RANGE_MASK(-c - 2 - DW_W, width - c - 2 - DW_W);
            for (int i = 0; i < 4; i++) {
                DW_V a = DW_SET1(0.0f), b = a, e = a, f = a;
                if (rows[i] != 0) {
                    const float *p = rows[i] + c;
                    a = DW_LOAD_MASKED(p, ma); b = DW_LOAD_MASKED(p + DW_W, mb);
                    e = DW_LOAD_MASKED(p + 2, me); f = DW_LOAD_MASKED(p + 2 + DW_W, mf);
                }
                WG_BT(DW_EVEN(a, b), DW_ODD(a, b), DW_EVEN(e, f), DW_ODD(e, f), across[i]);
            }
        }
        DW_V v[4][4];
        for (int j = 0; j < 4; j++) {
            DW_V column[4];
            WG_BT(across[0][j], across[1][j], across[2][j], across[3][j], column);
            for (int i = 0; i < 4; i++) v[i][j] = column[i];
        }
        WG_STORE_TRANSFORMS(dst + t, stride, tiles - t, &v[0][0], 16);
    }
}

// The first n (≤ 2·DW_W) of two vectors' lanes to p.
static inline __attribute__((always_inline, target(DW_TARGET)))
void WG_STORE_PAIR(float *p, DW_V lo, DW_V hi, long n) {
    if (n >= 2 * DW_W) {
        DW_STORE(p, lo); DW_STORE(p + DW_W, hi);
    } else if (n > DW_W) {
        DW_STORE(p, lo); DW_STORE_N(p + DW_W, hi, n - DW_W);
    } else if (n > 0) {
        DW_STORE_N(p, lo, n);
    }
}

__attribute__((target(DW_TARGET)))
void WG_OUTPUT(const float *m, long stride, long tiles, float bias, const float *residual, float *out, long out_w,
               long columns, int two_rows, int relu) {
    const DW_V b = DW_SET1(bias), zero = DW_SET1(0.0f);
    for (long t = 0; t < tiles; t += DW_W) {
        const long left = tiles - t;
        // Aᵀ M for column j: (m0 + m1 + m2, m1 − m2 − m3) down the rows; the M past the run is not read.
        DW_V s[4][2];
        for (int j = 0; j < 4; j++) {
            DW_V q[4];
            for (int i = 0; i < 4; i++) {
                const float *p = m + (4 * i + j) * stride + t;
                q[i] = left >= DW_W ? DW_LOAD(p) : DW_LOAD_N(p, left);
            }
            s[j][0] = q[0] + q[1] + q[2];
            s[j][1] = q[1] - q[2] - q[3];
        }
        const long n = columns - 2 * t;
        for (int r = 0; r < 1 + (two_rows != 0); r++) {
            // Row r of the tiles' outputs: the even lanes are output column 0 of each tile, the odd column 1.
            const DW_V even = s[0][r] + s[1][r] + s[2][r] + b, odd = s[1][r] - s[2][r] - s[3][r] + b;
            DW_V lo = DW_INTERLEAVE_LOW(even, odd), hi = DW_INTERLEAVE_HIGH(even, odd);
            float *row = out + r * out_w + 2 * t;
            if (residual != 0) {
                const float *res = residual + r * out_w + 2 * t;
                if (n >= 2 * DW_W) {
                    lo = lo + DW_LOAD(res); hi = hi + DW_LOAD(res + DW_W);
                } else {
                    lo = lo + DW_LOAD_RANGE(res, 0, n); hi = hi + DW_LOAD_RANGE(res + DW_W, 0, n - DW_W);
                }
            }
            if (relu) {
                // max(0, x) keeps a NaN (the second operand wins when either is NaN), as x < 0 ? 0 : x does.
                lo = DW_MAX(zero, lo); hi = DW_MAX(zero, hi);
            }
            WG_STORE_PAIR(row, lo, hi, n);
        }
    }
}

__attribute__((target(DW_TARGET)))
void WG_OUTPUT_GRADIENT(const float *row0, const float *row1, long inside, long tiles, float *dst, long stride) {
    for (long t = 0; t < tiles; t += DW_W) {
        // Columns at or past `inside` are past the plane's edge: zero, as is a missing second row.
        const long lo = inside - 2 * t, hi = lo - DW_W;
        DW_V across[2][4];
        for (int r = 0; r < 2; r++) {
            const float *p = (r == 0 ? row0 : row1);
            DW_V a = DW_SET1(0.0f), b = DW_SET1(0.0f);
            if (p != 0) {
                p += 2 * t;
                a = lo >= DW_W ? DW_LOAD(p) : DW_LOAD_N(p, lo > 0 ? lo : 0);
                b = hi >= DW_W ? DW_LOAD(p + DW_W) : DW_LOAD_N(p + DW_W, hi > 0 ? hi : 0);
            }
            WG_A(DW_EVEN(a, b), DW_ODD(a, b), across[r]);
        }
        DW_V z[4][4];
        for (int j = 0; j < 4; j++) {
            DW_V column[4];
            WG_A(across[0][j], across[1][j], column);
            for (int i = 0; i < 4; i++) z[i][j] = column[i];
        }
        WG_STORE_TRANSFORMS(dst + t, stride, tiles - t, &z[0][0], 16);
    }
}
