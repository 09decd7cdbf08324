// Winograd F(4×4, 3×3)'s input transform for planes at most 8 tiles wide, AVX-512 only: two tile rows per
// vector (lanes 0–7 the first, 8–15 the second), where one row per vector would leave 9 to 14 of 16 lanes
// idle (28-, 14- and 7-wide planes). Included after winograd4_transforms.h, whose WG4_BT it uses.
//
// rows[0…5] are the first tile row's six input rows, rows[6…11] the second's (null: padding); both runs
// have `tiles` (≤ 8) tiles starting at input column `col`; the first run's transforms go to
// dst[ξ · stride + 0 … tiles − 1], the second's right after them, to dst[ξ · stride + tiles … 2 · tiles − 1].
__attribute__((target("avx512f,fma")))
void graft_winograd4_input_pairs_avx512(const float *const *rows, long col, long width, long tiles, float *dst,
                                        long stride) {
    // Lane i of each half from two 16-lane sources: the even (odd) elements of the halves of x, then of y.
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 16, 18, 20, 22, 8, 10, 12, 14, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 17, 19, 21, 23, 9, 11, 13, 15, 25, 27, 29, 31);
    // Each half moved down a lane, its last lane from the extra vector's lane 0 (first half) or 8 (second).
    const __m512i shift = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 16, 9, 10, 11, 12, 13, 14, 15, 24);
    // The two runs' lanes packed together for the store.
    int order[16] = {0};
    for (long l = 0; l < tiles; l++) { order[l] = (int)l; order[tiles + l] = (int)(8 + l); }
    const __m512i pack = _mm512_loadu_si512((const void *)order);
    const __mmask16 stored = (__mmask16)((1u << (2 * tiles)) - 1u);
    // Columns col + 8k … col + 8k + 7 inside 0..<width, for the four 8-float loads of each run's row.
    __mmask16 inside[4];
    for (int k = 0; k < 4; k++) inside[k] = range_mask_512(-col - 8 * k, width - col - 8 * k) & 0xFF;
    DW_V across[6][6];
    for (int i = 0; i < 6; i++) {
        const float *a = rows[i], *b = rows[6 + i];
        DW_V l[4];
        for (int k = 0; k < 4; k++) {
            const long at = col + 8 * k;
            // The second run's eight floats land in lanes 8–15: loaded from eight floats before them.
            DW_V v = a != 0 ? _mm512_maskz_loadu_ps(inside[k], a + at) : DW_SET1(0.0f);
            l[k] = b != 0 ? _mm512_mask_loadu_ps(v, (__mmask16)(inside[k] << 8), b + at - 8) : v;
        }
        const DW_V ev = _mm512_permutex2var_ps(l[0], even, l[1]), od = _mm512_permutex2var_ps(l[0], odd, l[1]);
        const DW_V ev2 = _mm512_permutex2var_ps(l[2], even, l[3]), od2 = _mm512_permutex2var_ps(l[2], odd, l[3]);
        DW_V d[6];
        d[0] = _mm512_permutex2var_ps(ev, even, ev2); d[1] = _mm512_permutex2var_ps(od, even, od2);
        d[2] = _mm512_permutex2var_ps(ev, odd, ev2); d[3] = _mm512_permutex2var_ps(od, odd, od2);
        // Columns 4 and 5 of a run's tile t are columns 0 and 1 of tile t + 1; past the last tile, the
        // input columns col + 32 and col + 33.
        for (int j = 0; j < 2; j++) {
            const long at = col + 32 + j;
            const float fa = a != 0 && at >= 0 && at < width ? a[at] : 0.0f;
            const float fb = b != 0 && at >= 0 && at < width ? b[at] : 0.0f;
            const DW_V extra = _mm512_mask_blend_ps((__mmask16)0xFF00, DW_SET1(fa), DW_SET1(fb));
            d[4 + j] = _mm512_permutex2var_ps(d[j], shift, extra);
        }
        WG4_BT(d, across[i]);
    }
    for (int j = 0; j < 6; j++) {
        DW_V column[6] = {across[0][j], across[1][j], across[2][j], across[3][j], across[4][j], across[5][j]};
        DW_V out[6];
        WG4_BT(column, out);
        for (int i = 0; i < 6; i++) {
            _mm512_mask_storeu_ps(dst + (6 * i + j) * stride, stored, _mm512_permutexvar_ps(pack, out[i]));
        }
    }
}
