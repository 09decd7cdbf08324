// Winograd F(2×2, 3×3) data transforms for one run of tiles of one channel (see
// include/panel_kernels.h), written once over the DW_ vector macros of depthwise_kernels.c and
// compiled for each instruction set. WG_INPUT and WG_OUTPUT_GRADIENT name the functions.
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

static inline __attribute__((always_inline, target(DW_TARGET)))
void WG_STORE_SIXTEEN(float *dst, long stride, long remaining, DW_V v[4][4]) {
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
            float *p = dst + (4 * i + j) * stride;
            if (remaining >= DW_W) {
                DW_STORE(p, v[i][j]);
            } else {
                DW_STORE_N(p, v[i][j], remaining);
            }
        }
    }
}

__attribute__((target(DW_TARGET)))
void WG_INPUT(const float *r0, const float *r1, const float *r2, const float *r3, long tiles, float *dst,
              long stride) {
    const float *rows[4] = {r0, r1, r2, r3};
    for (long t = 0; t < tiles; t += DW_W) {
        DW_V across[4][4];
        for (int i = 0; i < 4; i++) {
            const float *p = rows[i] + 2 * t;
            const DW_V a = DW_LOAD(p), b = DW_LOAD(p + DW_W), c = DW_LOAD(p + 2), d = DW_LOAD(p + 2 + DW_W);
            WG_BT(DW_EVEN(a, b), DW_ODD(a, b), DW_EVEN(c, d), DW_ODD(c, d), across[i]);
        }
        DW_V v[4][4];
        for (int j = 0; j < 4; j++) {
            DW_V column[4];
            WG_BT(across[0][j], across[1][j], across[2][j], across[3][j], column);
            for (int i = 0; i < 4; i++) v[i][j] = column[i];
        }
        WG_STORE_SIXTEEN(dst + t, stride, tiles - t, v);
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
        WG_STORE_SIXTEEN(dst + t, stride, tiles - t, z);
    }
}
