// The column-matrix row of a stride-2 convolution's tap (see include/panel_kernels.h), AVX-512 only:
// each output row is one or two masked loads, a permute that keeps the even lanes and a masked store,
// where the general gather spent a call and its bounds arithmetic per output row (14 floats on
// ResNet-50's 14×14 planes: a fifth of its stride-2 3×3 layers).
#include "panel_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

// Lanes l of a 16-float load starting at input column c0 whose column c0 + l lies in 0 ..< in_w.
static inline __mmask16 inside_mask(long c0, long in_w) {
    long lo = -c0, hi = in_w - c0;
    if (lo < 0) lo = 0;
    if (hi > 16) hi = 16;
    if (hi <= lo) return 0;
    return (__mmask16)((((1u << hi) - 1u) & ~((1u << lo) - 1u)) & 0xffffu);
}

__attribute__((target("avx512f")))
void graft_im2col_s2_avx512(const float *plane, long in_h, long in_w, long top, long left, long out_h, long out_w,
                            float *dst) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (long oh = 0; oh < out_h; oh++) {
        const long ih = 2 * oh + top;
        float *out = dst + oh * out_w;
        for (long ow = 0; ow < out_w; ow += 16) {
            const long n = out_w - ow < 16 ? out_w - ow : 16;
            const __mmask16 store = (__mmask16)((1u << n) - 1u);
            if (ih < 0 || ih >= in_h) {
                _mm512_mask_storeu_ps(out + ow, store, _mm512_setzero_ps());
                continue;
            }
            // Columns c0 … c0 + 31 cover this chunk's taps (c0 + 2t); lanes outside the row are masked
            // out of the loads (no access there) and read as the padding's zeros.
            const long c0 = left + 2 * ow;
            const float *line = plane + ih * in_w;
            const __m512 v0 = _mm512_maskz_loadu_ps(inside_mask(c0, in_w), line + c0);
            const __m512 v1 = _mm512_maskz_loadu_ps(inside_mask(c0 + 16, in_w), line + c0 + 16);
            _mm512_mask_storeu_ps(out + ow, store, _mm512_permutex2var_ps(v0, even, v1));
        }
    }
}
#else
void graft_im2col_s2_avx512(const float *plane, long in_h, long in_w, long top, long left, long out_h, long out_w,
                            float *dst) {
    (void)plane; (void)in_h; (void)in_w; (void)top; (void)left; (void)out_h; (void)out_w; (void)dst;
}
#endif
