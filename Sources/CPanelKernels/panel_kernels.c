// AVX-512 register blocks for PanelGemm (see include/panel_kernels.h). The target attribute compiles
// these functions for AVX-512 only; nothing else in the build assumes it.
#include "panel_kernels.h"

#include <stddef.h>

#if defined(__x86_64__)
#include <immintrin.h>

int graft_cpu_has_avx512f(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

__attribute__((target("avx512f,fma")))
void graft_panel_block_6x32_avx512(long k, const float *a, const float *b0, const float *b1, long ldb,
                                   float *c, long ldc, int accumulate) {
    __m512 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (accumulate) {
        c00 = _mm512_loadu_ps(c);           c01 = _mm512_loadu_ps(c + 16);
        c10 = _mm512_loadu_ps(c + ldc);     c11 = _mm512_loadu_ps(c + ldc + 16);
        c20 = _mm512_loadu_ps(c + 2 * ldc); c21 = _mm512_loadu_ps(c + 2 * ldc + 16);
        c30 = _mm512_loadu_ps(c + 3 * ldc); c31 = _mm512_loadu_ps(c + 3 * ldc + 16);
        c40 = _mm512_loadu_ps(c + 4 * ldc); c41 = _mm512_loadu_ps(c + 4 * ldc + 16);
        c50 = _mm512_loadu_ps(c + 5 * ldc); c51 = _mm512_loadu_ps(c + 5 * ldc + 16);
    } else {
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm512_setzero_ps();
    }
    for (long i = 0; i < k; i++) {
        const __m512 x0 = _mm512_loadu_ps(b0), x1 = _mm512_loadu_ps(b1);
        __m512 s = _mm512_set1_ps(a[0]);
        c00 = _mm512_fmadd_ps(s, x0, c00); c01 = _mm512_fmadd_ps(s, x1, c01);
        s = _mm512_set1_ps(a[1]);
        c10 = _mm512_fmadd_ps(s, x0, c10); c11 = _mm512_fmadd_ps(s, x1, c11);
        s = _mm512_set1_ps(a[2]);
        c20 = _mm512_fmadd_ps(s, x0, c20); c21 = _mm512_fmadd_ps(s, x1, c21);
        s = _mm512_set1_ps(a[3]);
        c30 = _mm512_fmadd_ps(s, x0, c30); c31 = _mm512_fmadd_ps(s, x1, c31);
        s = _mm512_set1_ps(a[4]);
        c40 = _mm512_fmadd_ps(s, x0, c40); c41 = _mm512_fmadd_ps(s, x1, c41);
        s = _mm512_set1_ps(a[5]);
        c50 = _mm512_fmadd_ps(s, x0, c50); c51 = _mm512_fmadd_ps(s, x1, c51);
        a += 6;
        b0 += ldb;
        b1 += ldb;
    }
    _mm512_storeu_ps(c, c00);           _mm512_storeu_ps(c + 16, c01);
    _mm512_storeu_ps(c + ldc, c10);     _mm512_storeu_ps(c + ldc + 16, c11);
    _mm512_storeu_ps(c + 2 * ldc, c20); _mm512_storeu_ps(c + 2 * ldc + 16, c21);
    _mm512_storeu_ps(c + 3 * ldc, c30); _mm512_storeu_ps(c + 3 * ldc + 16, c31);
    _mm512_storeu_ps(c + 4 * ldc, c40); _mm512_storeu_ps(c + 4 * ldc + 16, c41);
    _mm512_storeu_ps(c + 5 * ldc, c50); _mm512_storeu_ps(c + 5 * ldc + 16, c51);
}

#include "column_panels.h"
#else
int graft_cpu_has_avx512f(void) { return 0; }

void graft_panel_block_6x32_avx512(long k, const float *a, const float *b0, const float *b1, long ldb,
                                   float *c, long ldc, int accumulate) {
    (void)k; (void)a; (void)b0; (void)b1; (void)ldb; (void)c; (void)ldc; (void)accumulate;
}

void graft_column_panel_gemm_avx512(long m, long n, long k, const float *a, long panel0, long panel1,
                                    const float *b, long ldb, float *c, long ldc, const float *bias,
                                    const float *residual, int relu) {
    (void)m; (void)n; (void)k; (void)a; (void)panel0; (void)panel1; (void)b; (void)ldb; (void)c; (void)ldc;
    (void)bias; (void)residual; (void)relu;
}
#endif
