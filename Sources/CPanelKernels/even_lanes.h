// dst[t] = src[2t] for t < n, the gather of a stride-2 convolution's im2col rows, written once over
// the DW_ vector macros of depthwise_kernels.c and compiled for each instruction set (EVEN_LANES
// names the function). Reads src[0 … 2n − 2] and nothing past it.
__attribute__((target(DW_TARGET)))
void EVEN_LANES(const float *src, float *dst, long n) {
    long t = 0;
    // Whole vectors while their two loads end inside the read range (2t + 2·DW_W ≤ 2n − 1).
    for (; 2 * t + 2 * DW_W <= 2 * n - 1; t += DW_W) {
        DW_STORE(dst + t, DW_EVEN(DW_LOAD(src + 2 * t), DW_LOAD(src + 2 * t + DW_W)));
    }
    for (; t < n; t += DW_W) {
        const long last = 2 * n - 1 - 2 * t;  // floats still readable from src + 2t
        const DW_V lo = DW_LOAD_RANGE(src + 2 * t, 0, last), hi = DW_LOAD_RANGE(src + 2 * t + DW_W, 0, last - DW_W);
        const long left = n - t;
        if (left >= DW_W) {
            DW_STORE(dst + t, DW_EVEN(lo, hi));
        } else {
            DW_STORE_N(dst + t, DW_EVEN(lo, hi), left);
        }
    }
}
