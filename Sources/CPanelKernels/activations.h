// SiLU, sigmoid and the exact (erf) GELU over a run of floats, written once over the ACT_ vector macros
// of activation_kernels.c and compiled for each instruction set (ACT_SUFFIX names the functions).
// The same functions as GraftTensor's FastMath (Cephes expf, the fitted normal CDF), with fused
// multiply-adds in the polynomials: a few ulp apart from the Swift loops, within ActivationTests' bounds.

#define ACT_CAT2(a, b) a##b
#define ACT_CAT(a, b) ACT_CAT2(a, b)
#define ACT_FN(name) ACT_CAT(name, ACT_SUFFIX)

// e^(−x), −x clamped to [−87.34, 88.38] (finite values at the bounds; NaN stays NaN: the constant is the
// first operand of max/min, which return the second when either is NaN). Cephes' expf of −x — n = round(−x/ln2),
// r = −x − n·ln2 in two parts, e^r by its polynomial, times 2ⁿ — with r's sign folded into the operations
// (q = x + n·ln2 = −r; fnmadd for the Horner steps, fmsub at the end): each step rounds the same magnitude
// as it would on −x, so SiLU and sigmoid need no negation. Where the instruction set has it (ACT_SCALEF,
// AVX-512's vscalefps), y·2ⁿ is one instruction rather than building 2ⁿ's bits: the same correctly rounded
// product. SiLU and sigmoid spend most of their time here (EfficientNet's SiLU passes: 11 % of a forward).
static inline __attribute__((always_inline, target(ACT_TARGET))) ACT_V ACT_FN(exp_negated_clamped_)(ACT_V x) {
    x = ACT_MAX(ACT_SET1(-88.3762626647949f), x);
    x = ACT_MIN(ACT_SET1(87.3365447505531f), x);
    const ACT_V magic = ACT_SET1(12582912.0f);  // 1.5·2^23: adding it rounds to an integer in the low bits
    const ACT_V shifted = ACT_FMA(x, ACT_SET1(-1.44269504088896341f), magic);
    const ACT_V n = ACT_SUB(shifted, magic);
    ACT_V q = ACT_FMA(n, ACT_SET1(0.693359375f), x);
    q = ACT_FMA(n, ACT_SET1(-2.12194440e-4f), q);
    const ACT_V q2 = ACT_MUL(q, q);
    ACT_V y = ACT_FNMA(ACT_SET1(1.9875691500e-4f), q, ACT_SET1(1.3981999507e-3f));
    y = ACT_FNMA(y, q, ACT_SET1(8.3334519073e-3f));
    y = ACT_FNMA(y, q, ACT_SET1(4.1665795894e-2f));
    y = ACT_FNMA(y, q, ACT_SET1(1.6666665459e-1f));
    y = ACT_FNMA(y, q, ACT_SET1(5.0000001201e-1f));
    y = ACT_ADD(ACT_FMSUB(y, q2, q), ACT_SET1(1.0f));
#ifdef ACT_SCALEF
    return ACT_SCALEF(y, n);
#else
    const ACT_I bits = ACT_ISUB(ACT_CASTI(shifted), ACT_CASTI(magic));
    return ACT_MUL(y, ACT_CASTF(ACT_ISHL23(ACT_IADD(bits, ACT_ISET1(127)))));
#endif
}

// e^x, x clamped to [−87.34, 88.38]: exp_negated_clamped_ of −x.
static inline __attribute__((always_inline, target(ACT_TARGET))) ACT_V ACT_FN(exp_clamped_)(ACT_V x) {
    return ACT_FN(exp_negated_clamped_)(ACT_SUB(ACT_SET1(0.0f), x));
}

// e^(−u²/2 + h), u ≥ 0, with u²/2 split as high² (exact: 12 significant bits) plus the rest, the two
// added by TwoSum (FastMath.expOfMinusHalfSquare).
static inline __attribute__((always_inline, target(ACT_TARGET))) ACT_V ACT_FN(exp_minus_half_square_)(ACT_V u, ACT_V h) {
    const ACT_V high = ACT_CASTF(ACT_IAND(ACT_CASTI(u), ACT_ISET1((int)0xfffff000u)));
    const ACT_V half = ACT_SET1(-0.5f);
    const ACT_V a = ACT_MUL(ACT_MUL(high, high), half);
    const ACT_V b = ACT_FMA(ACT_MUL(ACT_SUB(u, high), ACT_ADD(u, high)), half, h);
    const ACT_V sum = ACT_ADD(a, b);
    const ACT_V b_part = ACT_SUB(sum, a);
    const ACT_V error = ACT_ADD(ACT_SUB(a, ACT_SUB(sum, b_part)), ACT_SUB(b, b_part));
    const ACT_V e = ACT_FN(exp_clamped_)(sum);
    return ACT_FMA(e, error, e);
}

// Φ(x) (FastMath.normalCDF): ½ + x·S(x²) for |x| < 1, t·e^(−u²/2 + H(s)) in the tails, 0 past |x| = 14.
static inline __attribute__((always_inline, target(ACT_TARGET))) ACT_V ACT_FN(normal_cdf_)(ACT_V x) {
    const ACT_V u = ACT_CASTF(ACT_IAND(ACT_CASTI(x), ACT_ISET1(0x7fffffff)));
    const ACT_V x2 = ACT_MUL(x, x);
    ACT_V s7 = ACT_FMA(x2, ACT_SET1(-3.322105257552721e-08f), ACT_SET1(6.536643013532739e-07f));
    s7 = ACT_FMA(s7, x2, ACT_SET1(-9.434658750251401e-06f));
    s7 = ACT_FMA(s7, x2, ACT_SET1(0.00011543018626980484f));
    s7 = ACT_FMA(s7, x2, ACT_SET1(-0.0011873270850628614f));
    s7 = ACT_FMA(s7, x2, ACT_SET1(0.009973556734621525f));
    s7 = ACT_FMA(s7, x2, ACT_SET1(-0.06649038195610046f));
    s7 = ACT_FMA(s7, x2, ACT_SET1(0.3989422917366028f));
    const ACT_V central = ACT_FMA(x, s7, ACT_SET1(0.5f));
    const ACT_V one = ACT_SET1(1.0f);
    if (!ACT_ANY(u, _CMP_GE_OQ, one)) return central;  // activations near zero skip the tail

    const ACT_V t = ACT_DIV(one, ACT_ADD(one, u));
    const ACT_V s = ACT_MUL(ACT_SUB(t, ACT_SET1(0.2835143506526947f)), ACT_SET1(4.56624698638916f));
    ACT_V h = ACT_FMA(s, ACT_SET1(2.4202886379498523e-06f), ACT_SET1(-6.391255737980828e-06f));
    h = ACT_FMA(h, s, ACT_SET1(-1.4854020946586388e-06f));
    h = ACT_FMA(h, s, ACT_SET1(3.4372373193036765e-05f));
    h = ACT_FMA(h, s, ACT_SET1(-8.446754509350285e-05f));
    h = ACT_FMA(h, s, ACT_SET1(6.74377879477106e-05f));
    h = ACT_FMA(h, s, ACT_SET1(0.0003042814205400646f));
    h = ACT_FMA(h, s, ACT_SET1(-0.0014282966731116176f));
    h = ACT_FMA(h, s, ACT_SET1(0.00228067091666162f));
    h = ACT_FMA(h, s, ACT_SET1(0.005650486797094345f));
    h = ACT_FMA(h, s, ACT_SET1(-0.04990004748106003f));
    h = ACT_FMA(h, s, ACT_SET1(0.10034361481666565f));
    h = ACT_FMA(h, s, ACT_SET1(-0.7048882842063904f));
    ACT_V tail = ACT_MUL(t, ACT_FN(exp_minus_half_square_)(u, h));
    tail = ACT_SELECT(u, _CMP_GT_OQ, ACT_SET1(14.0f), ACT_SET1(0.0f), tail);
    const ACT_V outer = ACT_SELECT(x, _CMP_GT_OQ, ACT_SET1(0.0f), ACT_SUB(one, tail), tail);
    return ACT_SELECT(u, _CMP_LT_OQ, one, central, outer);
}

static inline __attribute__((always_inline, target(ACT_TARGET))) ACT_V ACT_FN(apply_)(int kind, ACT_V x) {
    const ACT_V one = ACT_SET1(1.0f);
    switch (kind) {
    case GRAFT_ACTIVATION_SILU: return ACT_DIV(x, ACT_ADD(one, ACT_FN(exp_negated_clamped_)(x)));
    case GRAFT_ACTIVATION_SIGMOID: return ACT_DIV(one, ACT_ADD(one, ACT_FN(exp_negated_clamped_)(x)));
    default: return ACT_MUL(x, ACT_FN(normal_cdf_)(x));
    }
}

// The kind is a constant in each loop, so each loop is compiled for its one function.
#define ACT_LOOP(kind)                                                                              \
    for (; i + 2 * ACT_W <= n; i += 2 * ACT_W) {  /* two vectors: two independent polynomial chains */ \
        const ACT_V x0 = ACT_ADD(ACT_LOAD(src + i), b), x1 = ACT_ADD(ACT_LOAD(src + i + ACT_W), b);  \
        ACT_STORE(dst + i, ACT_FN(apply_)(kind, x0));                                               \
        ACT_STORE(dst + i + ACT_W, ACT_FN(apply_)(kind, x1));                                       \
    }                                                                                               \
    for (; i + ACT_W <= n; i += ACT_W) ACT_STORE(dst + i, ACT_FN(apply_)(kind, ACT_ADD(ACT_LOAD(src + i), b))); \
    if (i < n) {                                                                                    \
        float lanes[ACT_W] = {0};                                                                   \
        for (long j = 0; j < n - i; j++) lanes[j] = src[i + j];                                     \
        ACT_STORE(lanes, ACT_FN(apply_)(kind, ACT_ADD(ACT_LOAD(lanes), b)));                        \
        for (long j = 0; j < n - i; j++) dst[i + j] = lanes[j];                                     \
    }

__attribute__((target(ACT_TARGET))) void ACT_FN(graft_activate_)(int kind, const float *src, float *dst, long n, float bias) {
    const ACT_V b = ACT_SET1(bias);
    long i = 0;
    switch (kind) {
    case GRAFT_ACTIVATION_SILU: ACT_LOOP(GRAFT_ACTIVATION_SILU) break;
    case GRAFT_ACTIVATION_SIGMOID: ACT_LOOP(GRAFT_ACTIVATION_SIGMOID) break;
    case GRAFT_ACTIVATION_GELU: ACT_LOOP(GRAFT_ACTIVATION_GELU) break;
    default: break;
    }
}

#undef ACT_LOOP
#undef ACT_FN
#undef ACT_CAT
#undef ACT_CAT2
