// One output row of an undilated max pooling with the argmax of every window, written once over the
// DW_ and MP_ vector macros of depthwise_kernels.c and compiled for each instruction set (MAX_POOL_ARGMAX
// names the function); see include/panel_kernels.h. Torch's CPU order: the taps in row-major window
// order, a strictly greater value or a NaN takes over, so ties keep the first maximum and a NaN wins.
__attribute__((target(DW_TARGET)))
void MAX_POOL_ARGMAX(const float *const *rows, const int *row_index, long kh, long kw, long stride, long pad_w,
                     long out_w, int first_row, float *values, int *indices) {
    const MP_I lane = MP_LANES();
    for (long ow = 0; ow < out_w; ow += DW_W) {
        // Each lane's first window column (possibly in the left padding) and, as the starting argmax,
        // its first real element.
        const MP_I column = MP_IADD(MP_ISET1((int)(ow * stride - pad_w)), MP_IMUL(lane, MP_ISET1((int)stride)));
        MP_I best_index = MP_IADD(MP_ISET1(first_row), MP_IMAX(column, MP_ISET1(0)));
        DW_V best = DW_SET1(-__builtin_inff());
        for (long i = 0; i < kh; i++) {
            const float *line = rows[i] + ow * stride;
            const MP_I row_column = MP_IADD(MP_ISET1(row_index[i]), column);
            for (long j = 0; j < kw; j++) {
                const DW_V v = stride == 1 ? DW_LOAD(line + j) : DW_EVEN(DW_LOAD(line + j), DW_LOAD(line + j + DW_W));
                const MP_MASK take = MP_TAKES(v, best);
                best = MP_SELECT(take, v, best);
                best_index = MP_ISELECT(take, MP_IADD(row_column, MP_ISET1((int)j)), best_index);
            }
        }
        const long n = out_w - ow;
        if (n >= DW_W) {
            DW_STORE(values + ow, best);
            MP_ISTORE(indices + ow, best_index);
        } else {
            DW_STORE_N(values + ow, best, n);
            MP_ISTORE_N(indices + ow, best_index, n);
        }
    }
}
