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

static inline __attribute__((always_inline, target(DW_TARGET)))
void DW_CAT(DW_NAME, _grad_rows)(const float *padded, long stride, const float *dy, long out_w, long out_h,
                                 const long k, double *grad) {
    const long vectors = (out_w + DW_W - 1) / DW_W;
    const long last = out_w - (vectors - 1) * DW_W;
    for (long i = 0; i < k; i++) {
        for (long top = 0; top < out_h; top += 8) {
            const long bottom = top + 8 < out_h ? top + 8 : out_h;
            DW_V acc[7];
            _Pragma("clang loop unroll(full)")
            for (long j = 0; j < k; j++) acc[j] = DW_SET1(0.0f);
            for (long oh = top; oh < bottom; oh++) {
                const float *row = padded + (oh + i) * stride, *g = dy + oh * out_w;
                for (long v = 0; v < vectors; v++) {
                    const DW_V d = v + 1 < vectors ? DW_LOAD(g + v * DW_W) : DW_LOAD_N(g + v * DW_W, last);
                    _Pragma("clang loop unroll(full)")
                    for (long j = 0; j < k; j++) acc[j] = DW_FMA(d, DW_LOAD(row + v * DW_W + j), acc[j]);
                }
            }
            _Pragma("clang loop unroll(full)")
            for (long j = 0; j < k; j++) grad[i * k + j] += (double)DW_SUM(acc[j]);
        }
    }
}

// The same at stride 2 (input row 2·oh + i, column 2·ow + j): each pair of loads at an even offset 2m
// gives the inputs of taps j = 2m (even lanes) and j = 2m + 1 (odd lanes).
static inline __attribute__((always_inline, target(DW_TARGET)))
void DW_CAT(DW_NAME, _grad_rows_s2)(const float *padded, long stride, const float *dy, long out_w, long out_h,
                                    const long k, double *grad) {
    const long vectors = (out_w + DW_W - 1) / DW_W;
    const long last = out_w - (vectors - 1) * DW_W;
    for (long i = 0; i < k; i++) {
        for (long top = 0; top < out_h; top += 8) {
            const long bottom = top + 8 < out_h ? top + 8 : out_h;
            DW_V acc[5];
            _Pragma("clang loop unroll(full)")
            for (long j = 0; j < k; j++) acc[j] = DW_SET1(0.0f);
            for (long oh = top; oh < bottom; oh++) {
                const float *row = padded + (2 * oh + i) * stride, *g = dy + oh * out_w;
                for (long v = 0; v < vectors; v++) {
                    const DW_V d = v + 1 < vectors ? DW_LOAD(g + v * DW_W) : DW_LOAD_N(g + v * DW_W, last);
                    _Pragma("clang loop unroll(full)")
                    for (long j = 0; j < k; j += 2) {
                        const float *x = row + 2 * v * DW_W + j;
                        const DW_V lo = DW_LOAD(x), hi = DW_LOAD(x + DW_W);
                        acc[j] = DW_FMA(d, DW_EVEN(lo, hi), acc[j]);
                        if (j + 1 < k) acc[j + 1] = DW_FMA(d, DW_ODD(lo, hi), acc[j + 1]);
                    }
                }
            }
            _Pragma("clang loop unroll(full)")
            for (long j = 0; j < k; j++) grad[i * k + j] += (double)DW_SUM(acc[j]);
        }
    }
}

static __attribute__((noinline, target(DW_TARGET)))
void DW_CAT(DW_NAME, _grad_k3)(const float *padded, long stride, const float *dy, long out_w, long out_h, double *grad) {
    DW_CAT(DW_NAME, _grad_rows)(padded, stride, dy, out_w, out_h, 3, grad);
}
static __attribute__((noinline, target(DW_TARGET)))
void DW_CAT(DW_NAME, _grad_k5)(const float *padded, long stride, const float *dy, long out_w, long out_h, double *grad) {
    DW_CAT(DW_NAME, _grad_rows)(padded, stride, dy, out_w, out_h, 5, grad);
}
static __attribute__((noinline, target(DW_TARGET)))
void DW_CAT(DW_NAME, _grad_k7)(const float *padded, long stride, const float *dy, long out_w, long out_h, double *grad) {
    DW_CAT(DW_NAME, _grad_rows)(padded, stride, dy, out_w, out_h, 7, grad);
}

static __attribute__((noinline, target(DW_TARGET)))
void DW_CAT(DW_NAME, _grad_s2k3)(const float *padded, long stride, const float *dy, long out_w, long out_h, double *grad) {
    DW_CAT(DW_NAME, _grad_rows_s2)(padded, stride, dy, out_w, out_h, 3, grad);
}
static __attribute__((noinline, target(DW_TARGET)))
void DW_CAT(DW_NAME, _grad_s2k5)(const float *padded, long stride, const float *dy, long out_w, long out_h, double *grad) {
    DW_CAT(DW_NAME, _grad_rows_s2)(padded, stride, dy, out_w, out_h, 5, grad);
}

__attribute__((target(DW_TARGET)))
int DW_CAT(DW_NAME, _filter_grad_s2)(const float *padded, long stride, const float *dy, long k, long out_w, long out_h,
                                     double *grad) {
    switch (k) {
    case 3: DW_CAT(DW_NAME, _grad_s2k3)(padded, stride, dy, out_w, out_h, grad); return 1;
    case 5: DW_CAT(DW_NAME, _grad_s2k5)(padded, stride, dy, out_w, out_h, grad); return 1;
    default: return 0;
    }
}

__attribute__((target(DW_TARGET)))
int DW_CAT(DW_NAME, _filter_grad)(const float *padded, long stride, const float *dy, long k, long out_w, long out_h,
                                  double *grad) {
    switch (k) {
    case 3: DW_CAT(DW_NAME, _grad_k3)(padded, stride, dy, out_w, out_h, grad); return 1;
    case 5: DW_CAT(DW_NAME, _grad_k5)(padded, stride, dy, out_w, out_h, grad); return 1;
    case 7: DW_CAT(DW_NAME, _grad_k7)(padded, stride, dy, out_w, out_h, grad); return 1;
    default: return 0;
    }
}
