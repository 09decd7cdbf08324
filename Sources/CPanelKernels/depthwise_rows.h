// The body of the row-blocked depthwise kernel, included once per instruction set by
// depthwise_kernels.c with these macros defined: DW_NAME (the function; its helpers' names derive
// from it), DW_TARGET (target attribute), DW_V (vector type), DW_W (lanes), DW_SET1, DW_LOAD, DW_FMA,
// DW_STORE, DW_STORE_N (store of the first n lanes).
//
// Four output rows are computed together. Every input row the four need is loaded once per tap
// column and multiplied into each output row whose filter row it meets, so one load feeds up to
// four multiply-adds, and the four (or eight, with two vectors per row) accumulators are
// independent chains. Each output keeps the taps' order (filter row, then column) starting from the
// bias: the sums are the same, rounding included, as the one-vector-at-a-time loop's.

#define DW_CAT2(a, b) a##b
#define DW_CAT(a, b) DW_CAT2(a, b)

static inline __attribute__((always_inline, target(DW_TARGET)))
void DW_CAT(DW_NAME, _block)(const float *base, long stride, const float *f, long k, float bias,
                     float *out, long out_w, long ow, const int pair) {
    DW_V a0 = DW_SET1(bias), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    _Pragma("clang loop unroll(full)")
    for (long ir = 0; ir < k + 3; ir++) {
        const float *row = base + ir * stride;
        // Filter rows met by input row ir for output rows 0...3 (outside 0..<k: none).
        const float *f0 = f + ir * k, *f1 = f0 - k, *f2 = f1 - k, *f3 = f2 - k;
        const int u0 = ir < k, u1 = ir >= 1 && ir <= k, u2 = ir >= 2 && ir <= k + 1, u3 = ir >= 3;
        _Pragma("clang loop unroll(full)")
        for (long j = 0; j < k; j++) {
            const DW_V x = DW_LOAD(row + j);
            const DW_V y = pair ? DW_LOAD(row + j + DW_W) : x;
            if (u0) { const DW_V w = DW_SET1(f0[j]); a0 = DW_FMA(w, x, a0); if (pair) b0 = DW_FMA(w, y, b0); }
            if (u1) { const DW_V w = DW_SET1(f1[j]); a1 = DW_FMA(w, x, a1); if (pair) b1 = DW_FMA(w, y, b1); }
            if (u2) { const DW_V w = DW_SET1(f2[j]); a2 = DW_FMA(w, x, a2); if (pair) b2 = DW_FMA(w, y, b2); }
            if (u3) { const DW_V w = DW_SET1(f3[j]); a3 = DW_FMA(w, x, a3); if (pair) b3 = DW_FMA(w, y, b3); }
        }
    }
    const long first = out_w - ow < DW_W ? out_w - ow : DW_W;
    if (first == DW_W && !pair) {
        DW_STORE(out + ow, a0); DW_STORE(out + out_w + ow, a1);
        DW_STORE(out + 2 * out_w + ow, a2); DW_STORE(out + 3 * out_w + ow, a3);
    } else if (!pair) {
        DW_STORE_N(out + ow, a0, first); DW_STORE_N(out + out_w + ow, a1, first);
        DW_STORE_N(out + 2 * out_w + ow, a2, first); DW_STORE_N(out + 3 * out_w + ow, a3, first);
    } else {
        const long second = out_w - ow - DW_W < DW_W ? out_w - ow - DW_W : DW_W;
        DW_STORE(out + ow, a0); DW_STORE(out + out_w + ow, a1);
        DW_STORE(out + 2 * out_w + ow, a2); DW_STORE(out + 3 * out_w + ow, a3);
        const long o = ow + DW_W;
        DW_STORE_N(out + o, b0, second); DW_STORE_N(out + out_w + o, b1, second);
        DW_STORE_N(out + 2 * out_w + o, b2, second); DW_STORE_N(out + 3 * out_w + o, b3, second);
    }
}

// Four rows of output, every vector of them (in pairs, then a last single one).
static inline __attribute__((always_inline, target(DW_TARGET)))
void DW_CAT(DW_NAME, _rows)(const float *base, long stride, const float *f, long k, float bias, float *rows,
                            long out_w, long vectors) {
    long v = 0;
    for (; v + 2 <= vectors; v += 2) DW_CAT(DW_NAME, _block)(base + v * DW_W, stride, f, k, bias, rows, out_w, v * DW_W, 1);
    if (v < vectors) DW_CAT(DW_NAME, _block)(base + v * DW_W, stride, f, k, bias, rows, out_w, v * DW_W, 0);
}

// Never-inlined copies for the common sizes with k a constant (the loops unroll and which filter rows
// each input row meets is settled at compile time) and one for any k; separate functions, so the
// optimizer cannot fold a constant copy back into the general one.
static __attribute__((noinline, target(DW_TARGET)))
void DW_CAT(DW_NAME, _k3)(const float *base, long stride, const float *f, float bias, float *rows, long out_w, long vectors) {
    DW_CAT(DW_NAME, _rows)(base, stride, f, 3, bias, rows, out_w, vectors);
}
static __attribute__((noinline, target(DW_TARGET)))
void DW_CAT(DW_NAME, _k5)(const float *base, long stride, const float *f, float bias, float *rows, long out_w, long vectors) {
    DW_CAT(DW_NAME, _rows)(base, stride, f, 5, bias, rows, out_w, vectors);
}
static __attribute__((noinline, target(DW_TARGET)))
void DW_CAT(DW_NAME, _k7)(const float *base, long stride, const float *f, float bias, float *rows, long out_w, long vectors) {
    DW_CAT(DW_NAME, _rows)(base, stride, f, 7, bias, rows, out_w, vectors);
}
static __attribute__((noinline, target(DW_TARGET)))
void DW_CAT(DW_NAME, _any)(const float *base, long stride, const float *f, long k, float bias, float *rows, long out_w,
                           long vectors) {
    DW_CAT(DW_NAME, _rows)(base, stride, f, k, bias, rows, out_w, vectors);
}

__attribute__((target(DW_TARGET)))
void DW_NAME(const float *padded, long stride, const float *filter, long k, float bias,
             float *out, long out_w, long out_h) {
    const long vectors = (out_w + DW_W - 1) / DW_W;
    for (long top = 0; top < out_h; top += 4) {
        // The last block of rows moves up to end at the plane's last row: rows it shares with the
        // block before are computed again and stored with the same values.
        const long oh = top + 4 <= out_h ? top : out_h - 4;
        const float *base = padded + oh * stride;
        float *rows = out + oh * out_w;
        switch (k) {
        case 3: DW_CAT(DW_NAME, _k3)(base, stride, filter, bias, rows, out_w, vectors); break;
        case 5: DW_CAT(DW_NAME, _k5)(base, stride, filter, bias, rows, out_w, vectors); break;
        case 7: DW_CAT(DW_NAME, _k7)(base, stride, filter, bias, rows, out_w, vectors); break;
        default: DW_CAT(DW_NAME, _any)(base, stride, filter, k, bias, rows, out_w, vectors);
        }
    }
}

// Stride 2 (DW_EVEN/DW_ODD: the even and odd lanes of two adjacent vectors): output lane t reads
// input column 2t + j, so each pair of loads at an even offset 2m gives the inputs of taps j = 2m
// (even lanes) and j = 2m + 1 (odd lanes). Output row r reads input rows 2r + i, so an input row
// feeds up to ⌈k/2⌉ of the four output rows. Same taps in the same order as the stride-1 block.
static inline __attribute__((always_inline, target(DW_TARGET)))
void DW_CAT(DW_NAME, _block_s2)(const float *base, long stride, const float *f, long k, float bias,
                                float *out, long out_w, long ow) {
    DW_V a0 = DW_SET1(bias), a1 = a0, a2 = a0, a3 = a0;
    _Pragma("clang loop unroll(full)")
    for (long ir = 0; ir < k + 6; ir++) {
        const float *row = base + ir * stride;
        const float *f0 = f + ir * k, *f1 = f0 - 2 * k, *f2 = f1 - 2 * k, *f3 = f2 - 2 * k;
        const int u0 = ir < k, u1 = ir >= 2 && ir < k + 2, u2 = ir >= 4 && ir < k + 4, u3 = ir >= 6;
        _Pragma("clang loop unroll(full)")
        for (long j = 0; j < k; j += 2) {
            const DW_V lo = DW_LOAD(row + j), hi = DW_LOAD(row + j + DW_W);
            const DW_V even = DW_EVEN(lo, hi), odd = DW_ODD(lo, hi);
            const int second = j + 1 < k;
            if (u0) { a0 = DW_FMA(DW_SET1(f0[j]), even, a0); if (second) a0 = DW_FMA(DW_SET1(f0[j + 1]), odd, a0); }
            if (u1) { a1 = DW_FMA(DW_SET1(f1[j]), even, a1); if (second) a1 = DW_FMA(DW_SET1(f1[j + 1]), odd, a1); }
            if (u2) { a2 = DW_FMA(DW_SET1(f2[j]), even, a2); if (second) a2 = DW_FMA(DW_SET1(f2[j + 1]), odd, a2); }
            if (u3) { a3 = DW_FMA(DW_SET1(f3[j]), even, a3); if (second) a3 = DW_FMA(DW_SET1(f3[j + 1]), odd, a3); }
        }
    }
    const long n = out_w - ow < DW_W ? out_w - ow : DW_W;
    if (n == DW_W) {
        DW_STORE(out + ow, a0); DW_STORE(out + out_w + ow, a1);
        DW_STORE(out + 2 * out_w + ow, a2); DW_STORE(out + 3 * out_w + ow, a3);
    } else {
        DW_STORE_N(out + ow, a0, n); DW_STORE_N(out + out_w + ow, a1, n);
        DW_STORE_N(out + 2 * out_w + ow, a2, n); DW_STORE_N(out + 3 * out_w + ow, a3, n);
    }
}

static __attribute__((noinline, target(DW_TARGET)))
void DW_CAT(DW_NAME, _s2k3)(const float *base, long stride, const float *f, float bias, float *rows, long out_w, long vectors) {
    for (long v = 0; v < vectors; v++) DW_CAT(DW_NAME, _block_s2)(base + 2 * v * DW_W, stride, f, 3, bias, rows, out_w, v * DW_W);
}
static __attribute__((noinline, target(DW_TARGET)))
void DW_CAT(DW_NAME, _s2k5)(const float *base, long stride, const float *f, float bias, float *rows, long out_w, long vectors) {
    for (long v = 0; v < vectors; v++) DW_CAT(DW_NAME, _block_s2)(base + 2 * v * DW_W, stride, f, 5, bias, rows, out_w, v * DW_W);
}

__attribute__((target(DW_TARGET)))
int DW_CAT(DW_NAME, _s2)(const float *padded, long stride, const float *filter, long k, float bias,
                         float *out, long out_w, long out_h) {
    if (k != 3 && k != 5) return 0;
    const long vectors = (out_w + DW_W - 1) / DW_W;
    for (long top = 0; top < out_h; top += 4) {
        const long oh = top + 4 <= out_h ? top : out_h - 4;
        const float *base = padded + 2 * oh * stride;
        float *rows = out + oh * out_w;
        if (k == 3) DW_CAT(DW_NAME, _s2k3)(base, stride, filter, bias, rows, out_w, vectors);
        else DW_CAT(DW_NAME, _s2k5)(base, stride, filter, bias, rows, out_w, vectors);
    }
    return 1;
}
