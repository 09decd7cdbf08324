// Row-blocked depthwise convolution kernels and Winograd transforms (see include/panel_kernels.h), one per instruction
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

static inline __attribute__((always_inline, target("avx512f")))
__m512 load_n_512(const float *p, long n) { return _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), p); }

// The lanes lo..<hi of a vector, as a load mask.
static inline __attribute__((always_inline, target("avx512f")))
__mmask16 range_mask_512(long lo, long hi) {
    lo = lo < 0 ? 0 : lo;
    hi = hi > 16 ? 16 : hi;
    if (hi <= lo) return 0;
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

static inline __attribute__((always_inline, target("avx512f")))
__m512 load_masked_512(const float *p, __mmask16 mask) { return _mm512_maskz_loadu_ps(mask, p); }

// Lanes lo..<hi of the 16 floats at p, zeros elsewhere (nothing outside them is read).
static inline __attribute__((always_inline, target("avx512f")))
__m512 load_range_512(const float *p, long lo, long hi) { return load_masked_512(p, range_mask_512(lo, hi)); }

// Lanes 2i and 2i + 1 of the result are even[i] and odd[i]: the low (high) half's lanes of both.
static inline __attribute__((always_inline, target("avx512f")))
__m512 interleave_low_512(__m512 even, __m512 odd) {
    return _mm512_permutex2var_ps(even, _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), odd);
}

static inline __attribute__((always_inline, target("avx512f")))
__m512 interleave_high_512(__m512 even, __m512 odd) {
    return _mm512_permutex2var_ps(even, _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), odd);
}

static inline __attribute__((always_inline, target("avx512f")))
__m512 even_512(__m512 lo, __m512 hi) {
    return _mm512_permutex2var_ps(lo, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), hi);
}

static inline __attribute__((always_inline, target("avx512f")))
__m512 odd_512(__m512 lo, __m512 hi) {
    return _mm512_permutex2var_ps(lo, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), hi);
}

#define DW_NAME graft_depthwise_rows4_avx512
#define DW_TARGET "avx512f,fma"
#define DW_V __m512
#define DW_W 16
#define DW_SET1 _mm512_set1_ps
#define DW_LOAD _mm512_loadu_ps
#define DW_FMA _mm512_fmadd_ps
#define DW_STORE _mm512_storeu_ps
#define DW_STORE_N store_n_512
#define DW_LOAD_N load_n_512
#define DW_SUM _mm512_reduce_add_ps
#define DW_EVEN even_512
#define DW_ODD odd_512
#define DW_LOAD_RANGE load_range_512
#define DW_MASK __mmask16
#define DW_RANGE_MASK range_mask_512
#define DW_LOAD_MASKED load_masked_512
#define DW_INTERLEAVE_LOW interleave_low_512
#define DW_INTERLEAVE_HIGH interleave_high_512
#define DW_MAX _mm512_max_ps
#include "depthwise_rows.h"
#include "depthwise_filter_grad.h"
#define WG_INPUT graft_winograd_input_avx512
#define WG_OUTPUT graft_winograd_output_avx512
#define WG_OUTPUT_GRADIENT graft_winograd_output_gradient_avx512
#define WG_STORE_TRANSFORMS winograd_store_transforms_avx512
#define WG_STORE_PAIR winograd_store_pair_avx512
#define WG4_INPUT graft_winograd4_input_avx512
#define WG4_OUTPUT graft_winograd4_output_avx512
#define WG4_OUTPUT_GRADIENT graft_winograd4_output_gradient_avx512
#define DW_SHIFT_IN(v, s) _mm512_permutex2var_ps((v), _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16), _mm512_set1_ps(s))
#define EVEN_LANES graft_even_lanes_avx512
#define MAX_POOL_ARGMAX graft_max_pool_argmax_avx512
#define MP_I __m512i
#define MP_MASK __mmask16
#define MP_LANES() _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
#define MP_ISET1 _mm512_set1_epi32
#define MP_IADD _mm512_add_epi32
#define MP_IMUL _mm512_mullo_epi32
#define MP_IMAX _mm512_max_epi32
#define MP_TAKES(v, best) (_mm512_cmp_ps_mask((v), (best), _CMP_GT_OQ) | _mm512_cmp_ps_mask((v), (v), _CMP_UNORD_Q))
#define MP_SELECT(m, a, b) _mm512_mask_blend_ps((m), (b), (a))
#define MP_ISELECT(m, a, b) _mm512_mask_blend_epi32((m), (b), (a))
#define MP_ISTORE(p, v) _mm512_storeu_si512((void *)(p), (v))
#define MP_ISTORE_N(p, v, n) _mm512_mask_storeu_epi32((void *)(p), (__mmask16)((1u << (n)) - 1u), (v))
#include "winograd_transforms.h"
#include "winograd4_transforms.h"
#include "winograd4_pairs.h"
#include "even_lanes.h"
#include "max_pool_argmax.h"
#undef WG4_INPUT
#undef WG4_OUTPUT
#undef WG4_OUTPUT_GRADIENT
#undef DW_SHIFT_IN
#undef MAX_POOL_ARGMAX
#undef MP_I
#undef MP_MASK
#undef MP_LANES
#undef MP_ISET1
#undef MP_IADD
#undef MP_IMUL
#undef MP_IMAX
#undef MP_TAKES
#undef MP_SELECT
#undef MP_ISELECT
#undef MP_ISTORE
#undef MP_ISTORE_N
#undef EVEN_LANES
#undef WG_INPUT
#undef WG_OUTPUT
#undef WG_OUTPUT_GRADIENT
#undef WG_STORE_TRANSFORMS
#undef WG_STORE_PAIR
#undef DW_LOAD_RANGE
#undef DW_MASK
#undef DW_RANGE_MASK
#undef DW_LOAD_MASKED
#undef DW_INTERLEAVE_LOW
#undef DW_INTERLEAVE_HIGH
#undef DW_MAX
#undef DW_NAME
#undef DW_TARGET
#undef DW_V
#undef DW_W
#undef DW_SET1
#undef DW_LOAD
#undef DW_FMA
#undef DW_STORE
#undef DW_STORE_N
#undef DW_LOAD_N
#undef DW_SUM
#undef DW_EVEN
#undef DW_ODD

static inline __attribute__((always_inline, target("avx2")))
__m256i first_n_256(long n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline __attribute__((always_inline, target("avx2")))
void store_n_256(float *p, __m256 v, long n) { _mm256_maskstore_ps(p, first_n_256(n), v); }

static inline __attribute__((always_inline, target("avx2")))
__m256 load_n_256(const float *p, long n) { return _mm256_maskload_ps(p, first_n_256(n)); }

// The even (odd) lanes of lo then hi: a shuffle leaves them as lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6,
// then the 64-bit pairs are put in order.
static inline __attribute__((always_inline, target("avx2")))
__m256 even_256(__m256 lo, __m256 hi) {
    const __m256 s = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), _MM_SHUFFLE(3, 1, 2, 0)));
}

static inline __attribute__((always_inline, target("avx2")))
__m256 odd_256(__m256 lo, __m256 hi) {
    const __m256 s = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), _MM_SHUFFLE(3, 1, 2, 0)));
}

static inline __attribute__((always_inline, target("avx2")))
__m256i range_mask_256(long lo, long hi) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_and_si256(_mm256_cmpgt_epi32(lane, _mm256_set1_epi32((int)(lo < 0 ? -1 : lo > 8 ? 8 : lo - 1))),
                            _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(hi > 8 ? 8 : hi < 0 ? 0 : hi)), lane));
}

static inline __attribute__((always_inline, target("avx2")))
__m256 load_masked_256(const float *p, __m256i mask) { return _mm256_maskload_ps(p, mask); }

static inline __attribute__((always_inline, target("avx2")))
__m256 load_range_256(const float *p, long lo, long hi) { return load_masked_256(p, range_mask_256(lo, hi)); }

static inline __attribute__((always_inline, target("avx2")))
__m256 interleave_low_256(__m256 even, __m256 odd) {
    return _mm256_permute2f128_ps(_mm256_unpacklo_ps(even, odd), _mm256_unpackhi_ps(even, odd), 0x20);
}

static inline __attribute__((always_inline, target("avx2")))
__m256 interleave_high_256(__m256 even, __m256 odd) {
    return _mm256_permute2f128_ps(_mm256_unpacklo_ps(even, odd), _mm256_unpackhi_ps(even, odd), 0x31);
}

static inline __attribute__((always_inline, target("avx2")))
float sum_256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
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
#define DW_LOAD_N load_n_256
#define DW_SUM sum_256
#define DW_EVEN even_256
#define DW_ODD odd_256
#define DW_LOAD_RANGE load_range_256
#define DW_MASK __m256i
#define DW_RANGE_MASK range_mask_256
#define DW_LOAD_MASKED load_masked_256
#define DW_INTERLEAVE_LOW interleave_low_256
#define DW_INTERLEAVE_HIGH interleave_high_256
#define DW_MAX _mm256_max_ps
#include "depthwise_rows.h"
#include "depthwise_filter_grad.h"
#define WG_INPUT graft_winograd_input_avx2
#define WG_OUTPUT graft_winograd_output_avx2
#define WG_OUTPUT_GRADIENT graft_winograd_output_gradient_avx2
#define WG_STORE_TRANSFORMS winograd_store_transforms_avx2
#define WG_STORE_PAIR winograd_store_pair_avx2
#define EVEN_LANES graft_even_lanes_avx2
#define WG4_INPUT graft_winograd4_input_avx2
#define WG4_OUTPUT graft_winograd4_output_avx2
#define WG4_OUTPUT_GRADIENT graft_winograd4_output_gradient_avx2
#define DW_SHIFT_IN(v, s) \
    _mm256_blend_ps(_mm256_permutevar8x32_ps((v), _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 7)), _mm256_set1_ps(s), 0x80)
#define MAX_POOL_ARGMAX graft_max_pool_argmax_avx2
#define MP_I __m256i
#define MP_MASK __m256
#define MP_LANES() _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)
#define MP_ISET1 _mm256_set1_epi32
#define MP_IADD _mm256_add_epi32
#define MP_IMUL _mm256_mullo_epi32
#define MP_IMAX _mm256_max_epi32
#define MP_TAKES(v, best) _mm256_or_ps(_mm256_cmp_ps((v), (best), _CMP_GT_OQ), _mm256_cmp_ps((v), (v), _CMP_UNORD_Q))
#define MP_SELECT(m, a, b) _mm256_blendv_ps((b), (a), (m))
#define MP_ISELECT(m, a, b) \
    _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(b), _mm256_castsi256_ps(a), (m)))
#define MP_ISTORE(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), (v))
#define MP_ISTORE_N(p, v, n) _mm256_maskstore_epi32((int *)(p), first_n_256(n), (v))
#include "winograd_transforms.h"
#include "winograd4_transforms.h"
#include "even_lanes.h"
#include "max_pool_argmax.h"

#else
// Not x86-64: no CPU reports these sets, so Graft never calls the kernels; they exist for the linker.
int graft_cpu_has_avx2_fma(void) { return 0; }
#define DW_UNAVAILABLE_FORWARD(NAME, RESULT, VALUE)                                                          \
    RESULT NAME(const float *padded, long stride, const float *filter, long k, float bias, float *out,     \
                long out_w, long out_h) {                                                                 \
        (void)padded; (void)stride; (void)filter; (void)k; (void)bias; (void)out; (void)out_w; (void)out_h; \
        return VALUE;                                                                                     \
    }
#define DW_UNAVAILABLE_GRADIENT(NAME)                                                                        \
    int NAME(const float *padded, long stride, const float *dy, long k, long step, long out_w, long out_h,  \
             double *grad) {                                                                              \
        (void)padded; (void)stride; (void)dy; (void)k; (void)step; (void)out_w; (void)out_h; (void)grad;    \
        return 0;                                                                                         \
    }
DW_UNAVAILABLE_FORWARD(graft_depthwise_rows4_avx512, void, )
DW_UNAVAILABLE_FORWARD(graft_depthwise_rows4_avx2, void, )
DW_UNAVAILABLE_FORWARD(graft_depthwise_rows4_avx512_s2, int, 0)
DW_UNAVAILABLE_FORWARD(graft_depthwise_rows4_avx2_s2, int, 0)
DW_UNAVAILABLE_GRADIENT(graft_depthwise_rows4_avx512_filter_grad)
DW_UNAVAILABLE_GRADIENT(graft_depthwise_rows4_avx2_filter_grad)
#define WG_UNAVAILABLE(INPUT, OUTPUT, OUTPUT_GRADIENT)                                                       \
    void INPUT(const float *r0, const float *r1, const float *r2, const float *r3, long col, long width,    \
               long tiles, float *dst, long stride) {                                                     \
        (void)r0; (void)r1; (void)r2; (void)r3; (void)col; (void)width; (void)tiles; (void)dst; (void)stride; \
    }                                                                                                     \
    void OUTPUT(const float *m, long stride, long tiles, float bias, const float *residual, float *out,     \
                long out_w, long columns, int two_rows, int relu) {                                       \
        (void)m; (void)stride; (void)tiles; (void)bias; (void)residual; (void)out; (void)out_w;            \
        (void)columns; (void)two_rows; (void)relu;                                                        \
    }                                                                                                     \
    void OUTPUT_GRADIENT(const float *row0, const float *row1, long inside, long tiles, float *dst,         \
                         long stride) {                                                                   \
        (void)row0; (void)row1; (void)inside; (void)tiles; (void)dst; (void)stride;                        \
    }
void graft_even_lanes_avx512(const float *src, float *dst, long n) { (void)src; (void)dst; (void)n; }
void graft_even_lanes_avx2(const float *src, float *dst, long n) { (void)src; (void)dst; (void)n; }
#define MP_UNAVAILABLE(NAME)                                                                                 \
    void NAME(const float *const *rows, const int *row_index, long kh, long kw, long stride, long pad_w,   \
              long out_w, int first_row, float *values, int *indices) {                                   \
        (void)rows; (void)row_index; (void)kh; (void)kw; (void)stride; (void)pad_w; (void)out_w;           \
        (void)first_row; (void)values; (void)indices;                                                     \
    }
#define WG4_UNAVAILABLE(INPUT, OUTPUT, OUTPUT_GRADIENT)                                                      \
    void INPUT(const float *const *rows, long col, long width, long tiles, float *dst, long stride) {        \
        (void)rows; (void)col; (void)width; (void)tiles; (void)dst; (void)stride;                          \
    }                                                                                                     \
    void OUTPUT(const float *m, long stride, long tiles, float bias, const float *residual, float *out,     \
                long out_w, long columns, long rows, int relu) {                                          \
        (void)m; (void)stride; (void)tiles; (void)bias; (void)residual; (void)out; (void)out_w;            \
        (void)columns; (void)rows; (void)relu;                                                            \
    }                                                                                                     \
    void OUTPUT_GRADIENT(const float *const *rows, long inside, long tiles, float *dst, long stride) {      \
        (void)rows; (void)inside; (void)tiles; (void)dst; (void)stride;                                    \
    }
WG4_UNAVAILABLE(graft_winograd4_input_avx512, graft_winograd4_output_avx512, graft_winograd4_output_gradient_avx512)
WG4_UNAVAILABLE(graft_winograd4_input_avx2, graft_winograd4_output_avx2, graft_winograd4_output_gradient_avx2)
void graft_winograd4_input_pairs_avx512(const float *const *rows, long col, long width, long tiles, float *dst,
                                        long stride) {
    (void)rows; (void)col; (void)width; (void)tiles; (void)dst; (void)stride;
}
MP_UNAVAILABLE(graft_max_pool_argmax_avx512)
MP_UNAVAILABLE(graft_max_pool_argmax_avx2)
WG_UNAVAILABLE(graft_winograd_input_avx512, graft_winograd_output_avx512, graft_winograd_output_gradient_avx512)
WG_UNAVAILABLE(graft_winograd_input_avx2, graft_winograd_output_avx2, graft_winograd_output_gradient_avx2)
#endif
