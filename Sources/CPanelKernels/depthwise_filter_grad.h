// The body of the depthwise filter-gradient kernel, included once per instruction set by
// depthwise_kernels.c after depthwise_rows.h, with the same macros plus DW_LOAD_N (load of the first
// n lanes, the rest zero, nothing past them touched) and DW_SUM (sum of the lanes).
//
// For one image's plane of one channel, stride 1, undilated:
//     grad[i·k + j] += Σ_{oh, ow} dy[oh·out_w + ow] · padded[(oh + i)·stride + ow + j]
// One filter row i at a time: each vector of ∂y is loaded once for the k taps of that row, whose k
// accumulators are independent chains. Every 8 rows of ∂y the accumulators are summed into `grad` in
// double, so each float partial sum has at most 8 · ⌈out_w / lanes⌉ terms per lane. Stride 1 for
// k = 3, 5, 7 and stride 2 for k = 3, 5.

// `step` is the stride, 1 or 2 (a constant in each caller below). At stride 2 (input row 2·oh + i,
// column 2·ow + j) each pair of loads at an even offset 2m gives the inputs of taps j = 2m (even
// lanes) and j = 2m + 1 (odd lanes).
static inline __attribute__((always_inline, target(DW_TARGET)))
void DW_CAT(DW_NAME, _grad_rows)(const float *padded, long stride, const float *dy, long out_w, long out_h,
                                 const long k, const long step, double *grad) {
    const long vectors = (out_w + DW_W - 1) / DW_W;
    const long last = out_w - (vectors - 1) * DW_W;
    for (long i = 0; i < k; i++) {
        for (long top = 0; top < out_h; top += 8) {
            const long bottom = top + 8 < out_h ? top + 8 : out_h;
            DW_V acc[7];
            _Pragma("clang loop unroll(full)")
            for (long j = 0; j < k; j++) acc[j] = DW_SET1(0.0f);
            for (long oh = top; oh < bottom; oh++) {
                const float *row = padded + (step * oh + i) * stride, *g = dy + oh * out_w;
                for (long v = 0; v < vectors; v++) {
                    const DW_V d = v + 1 < vectors ? DW_LOAD(g + v * DW_W) : DW_LOAD_N(g + v * DW_W, last);
                    const float *x = row + step * v * DW_W;
                    if (step == 1) {
                        _Pragma("clang loop unroll(full)")
                        for (long j = 0; j < k; j++) acc[j] = DW_FMA(d, DW_LOAD(x + j), acc[j]);
                    } else {
                        _Pragma("clang loop unroll(full)")
                        for (long j = 0; j < k; j += 2) {
                            const DW_V lo = DW_LOAD(x + j), hi = DW_LOAD(x + j + DW_W);
                            acc[j] = DW_FMA(d, DW_EVEN(lo, hi), acc[j]);
                            if (j + 1 < k) acc[j + 1] = DW_FMA(d, DW_ODD(lo, hi), acc[j + 1]);
                        }
                    }
                }
            }
            _Pragma("clang loop unroll(full)")
            for (long j = 0; j < k; j++) grad[i * k + j] += (double)DW_SUM(acc[j]);
        }
    }
}

// Never-inlined copies with k and the stride as constants (the loops unroll), one per case served.
#define DW_GRAD_FIXED(SUFFIX, K, STEP)                                                                      \
    static __attribute__((noinline, target(DW_TARGET)))                                                   \
    void DW_CAT(DW_NAME, SUFFIX)(const float *padded, long stride, const float *dy, long out_w, long out_h, \
                                 double *grad) {                                                           \
        DW_CAT(DW_NAME, _grad_rows)(padded, stride, dy, out_w, out_h, K, STEP, grad);                     \
    }
DW_GRAD_FIXED(_grad_k3, 3, 1)
DW_GRAD_FIXED(_grad_k5, 5, 1)
DW_GRAD_FIXED(_grad_k7, 7, 1)
DW_GRAD_FIXED(_grad_s2k3, 3, 2)
DW_GRAD_FIXED(_grad_s2k5, 5, 2)
#undef DW_GRAD_FIXED

__attribute__((target(DW_TARGET)))
int DW_CAT(DW_NAME, _filter_grad)(const float *padded, long stride, const float *dy, long k, long step, long out_w,
                                  long out_h, double *grad) {
    switch (step * 10 + k) {
    case 13: DW_CAT(DW_NAME, _grad_k3)(padded, stride, dy, out_w, out_h, grad); return 1;
    case 15: DW_CAT(DW_NAME, _grad_k5)(padded, stride, dy, out_w, out_h, grad); return 1;
    case 17: DW_CAT(DW_NAME, _grad_k7)(padded, stride, dy, out_w, out_h, grad); return 1;
    case 23: DW_CAT(DW_NAME, _grad_s2k3)(padded, stride, dy, out_w, out_h, grad); return 1;
    case 25: DW_CAT(DW_NAME, _grad_s2k5)(padded, stride, dy, out_w, out_h, grad); return 1;
    default: return 0;
    }
}
