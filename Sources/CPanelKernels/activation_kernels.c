// SiLU, sigmoid and GELU over runs of floats (see include/panel_kernels.h), one function per
// instruction set from the same body (activations.h), each compiled for its set by a target attribute
// and called only when the CPU has it.
#include "panel_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define ACT_SUFFIX avx512
#define ACT_TARGET "avx512f,fma"
#define ACT_V __m512
#define ACT_I __m512i
#define ACT_W 16
#define ACT_SET1 _mm512_set1_ps
#define ACT_ISET1 _mm512_set1_epi32
#define ACT_LOAD _mm512_loadu_ps
#define ACT_STORE _mm512_storeu_ps
#define ACT_ADD _mm512_add_ps
#define ACT_SUB _mm512_sub_ps
#define ACT_MUL _mm512_mul_ps
#define ACT_DIV _mm512_div_ps
#define ACT_FMA _mm512_fmadd_ps
#define ACT_FNMA _mm512_fnmadd_ps
#define ACT_FMSUB _mm512_fmsub_ps
#define ACT_SCALEF _mm512_scalef_ps
#define ACT_MIN _mm512_min_ps
#define ACT_MAX _mm512_max_ps
#define ACT_CASTI _mm512_castps_si512
#define ACT_CASTF _mm512_castsi512_ps
#define ACT_IADD _mm512_add_epi32
#define ACT_ISUB _mm512_sub_epi32
#define ACT_IAND _mm512_and_si512
#define ACT_ISHL23(v) _mm512_slli_epi32((v), 23)
// Lanes where `a pred b` take `yes`, the others `no`.
#define ACT_SELECT(a, pred, b, yes, no) _mm512_mask_blend_ps(_mm512_cmp_ps_mask((a), (b), (pred)), (no), (yes))
#define ACT_ANY(a, pred, b) (_mm512_cmp_ps_mask((a), (b), (pred)) != 0)
#include "activations.h"
#undef ACT_SUFFIX
#undef ACT_TARGET
#undef ACT_V
#undef ACT_I
#undef ACT_W
#undef ACT_SET1
#undef ACT_ISET1
#undef ACT_LOAD
#undef ACT_STORE
#undef ACT_ADD
#undef ACT_SUB
#undef ACT_MUL
#undef ACT_DIV
#undef ACT_FMA
#undef ACT_FNMA
#undef ACT_FMSUB
#undef ACT_SCALEF
#undef ACT_MIN
#undef ACT_MAX
#undef ACT_CASTI
#undef ACT_CASTF
#undef ACT_IADD
#undef ACT_ISUB
#undef ACT_IAND
#undef ACT_ISHL23
#undef ACT_SELECT
#undef ACT_ANY

#define ACT_SUFFIX avx2
#define ACT_TARGET "avx2,fma"
#define ACT_V __m256
#define ACT_I __m256i
#define ACT_W 8
#define ACT_SET1 _mm256_set1_ps
#define ACT_ISET1 _mm256_set1_epi32
#define ACT_LOAD _mm256_loadu_ps
#define ACT_STORE _mm256_storeu_ps
#define ACT_ADD _mm256_add_ps
#define ACT_SUB _mm256_sub_ps
#define ACT_MUL _mm256_mul_ps
#define ACT_DIV _mm256_div_ps
#define ACT_FMA _mm256_fmadd_ps
#define ACT_FNMA _mm256_fnmadd_ps
#define ACT_FMSUB _mm256_fmsub_ps
#define ACT_MIN _mm256_min_ps
#define ACT_MAX _mm256_max_ps
#define ACT_CASTI _mm256_castps_si256
#define ACT_CASTF _mm256_castsi256_ps
#define ACT_IADD _mm256_add_epi32
#define ACT_ISUB _mm256_sub_epi32
#define ACT_IAND _mm256_and_si256
#define ACT_ISHL23(v) _mm256_slli_epi32((v), 23)
#define ACT_SELECT(a, pred, b, yes, no) _mm256_blendv_ps((no), (yes), _mm256_cmp_ps((a), (b), (pred)))
#define ACT_ANY(a, pred, b) (_mm256_movemask_ps(_mm256_cmp_ps((a), (b), (pred))) != 0)
#include "activations.h"

#else
void graft_activate_avx512(int kind, const float *src, float *dst, long n, float bias) { (void)kind; (void)src; (void)dst; (void)n; (void)bias; }
void graft_activate_avx2(int kind, const float *src, float *dst, long n, float bias) { (void)kind; (void)src; (void)dst; (void)n; (void)bias; }
#endif
