// Row-blocked depthwise convolution kernels (see include/panel_kernels.h), one per instruction
// set from the same body (depthwise_rows.h), each compiled for its set by a target attribute and
// called only when the CPU has it.
#include "panel_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

// The unroll pragmas of depthwise_rows.h take effect where k is a constant (3, 5, 7) and cannot elsewhere.
#pragma clang diagnostic ignored "-Wpass-failed"

int graft_cpu_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static inline __attribute__((always_inline, target("avx512f")))
void store_n_512(float *p, __m512 v, long n) { _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1u), v); }

#define DW_NAME graft_depthwise_rows4_avx512
#define DW_TARGET "avx512f,fma"
#define DW_V __m512
#define DW_W 16
#define DW_SET1 _mm512_set1_ps
#define DW_LOAD _mm512_loadu_ps
#define DW_FMA _mm512_fmadd_ps
#define DW_STORE _mm512_storeu_ps
#define DW_STORE_N store_n_512
#include "depthwise_rows.h"
#undef DW_NAME
#undef DW_TARGET
#undef DW_V
#undef DW_W
#undef DW_SET1
#undef DW_LOAD
#undef DW_FMA
#undef DW_STORE
#undef DW_STORE_N

static inline __attribute__((always_inline, target("avx2")))
void store_n_256(float *p, __m256 v, long n) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_maskstore_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), lanes), v);
}

#define DW_NAME graft_depthwise_rows4_avx2
#define DW_TARGET "avx2,fma"
#define DW_V __m256
#define DW_W 8
#define DW_SET1 _mm256_set1_ps
#define DW_LOAD _mm256_loadu_ps
#define DW_FMA _mm256_fmadd_ps
#define DW_STORE _mm256_storeu_ps
#define DW_STORE_N store_n_256
#include "depthwise_rows.h"

#else
int graft_cpu_has_avx2_fma(void) { return 0; }
void graft_depthwise_rows4_avx512(const float *padded, long stride, const float *filter, long k, float bias,
                                  float *out, long out_w, long out_h) {
    (void)padded; (void)stride; (void)filter; (void)k; (void)bias; (void)out; (void)out_w; (void)out_h;
}
void graft_depthwise_rows4_avx2(const float *padded, long stride, const float *filter, long k, float bias,
                                float *out, long out_w, long out_h) {
    (void)padded; (void)stride; (void)filter; (void)k; (void)bias; (void)out; (void)out_w; (void)out_h;
}
#endif
