/* Elementwise activations for the kernels' fused passes.
 *
 * Each function applies one activation over a contiguous run of values so that the
 * compiler vectorises the loop. float uses a branch-free polynomial exp (range reduction to
 * [-ln2/2, ln2/2], degree-6 polynomial, 2^n built in the exponent bits): a libm expf call per
 * value blocks vectorisation and made the LSTM(8) step pass 2.4x slower. double calls libm, since
 * it is the dtype used to check the kernels to 1e-12.
 *
 * Clamping uses comparisons that are false for NaN, so NaN and the sign of inf propagate.
 */
#ifndef RNNCORE_FASTMATH_H
#define RNNCORE_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

enum { RC_TANH = 0, RC_RELU = 1, RC_SIGMOID = 2, RC_LINEAR = 3, RC_HARD_SIGMOID = 4 };

static inline float rc_expf(float x) {
    x = x > 88.0f ? 88.0f : x;
    x = x < -87.0f ? -87.0f : x;
    float n = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline float rc_sigmoidf(float x) { return 1.0f / (1.0f + rc_expf(-x)); }

static inline float rc_tanhf(float x) {
    /* small |x|: odd Taylor series (relative error < 1e-7 below 0.3);
       otherwise 1 - 2 / (e^{2x} + 1), whose absolute error is a few 1e-8. */
    float x2 = x * x;
    float small = x + x * x2 * (-0.333333333f + x2 * (0.133333333f + x2 * (-0.0539682540f
                  + x2 * 0.0218694885f)));
    float large = 1.0f - 2.0f / (rc_expf(2.0f * x) + 1.0f);
    return fabsf(x) < 0.3f ? small : large;
}

static inline double rc_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

#define RC_DEFINE_ACTIVATIONS(T, SFX, EXP_SIGMOID, TANH)                                     \
static inline void rc_activate_##SFX(T* x, long n, int act) {                              \
    long i;                                                                                 \
    switch (act) {                                                                          \
    case RC_TANH:    for (i = 0; i < n; i++) x[i] = TANH(x[i]); break;                      \
    case RC_RELU:    for (i = 0; i < n; i++) x[i] = x[i] < 0 ? (T)0 : x[i]; break;           \
    case RC_SIGMOID: for (i = 0; i < n; i++) x[i] = EXP_SIGMOID(x[i]); break;               \
    case RC_HARD_SIGMOID:                                                                   \
        for (i = 0; i < n; i++) {                                                           \
            T v = (x[i] + (T)3) / (T)6; /* relu6(x + 3) / 6: 0, 1 exact at -3, 3 */  \
            v = v < 0 ? (T)0 : v;                                                           \
            x[i] = v > 1 ? (T)1 : v;                                                        \
        }                                                                                   \
        break;                                                                              \
    default: break;                                                                         \
    }                                                                                       \
}                                                                                           \
/* d act / d pre-activation, written in terms of the activation's output y */               \
static inline void rc_grad_##SFX(const T* y, T* d, long n, int act) {                        \
    long i;                                                                                 \
    switch (act) {                                                                          \
    case RC_TANH:    for (i = 0; i < n; i++) d[i] *= (T)1 - y[i] * y[i]; break;              \
    case RC_RELU:    for (i = 0; i < n; i++) d[i] = y[i] > 0 ? d[i] : (T)0; break;           \
    case RC_SIGMOID: for (i = 0; i < n; i++) d[i] *= y[i] * ((T)1 - y[i]); break;            \
    case RC_HARD_SIGMOID:                                                                   \
        for (i = 0; i < n; i++) d[i] = (y[i] > 0 && y[i] < 1) ? d[i] * (T)(1.0 / 6.0) : (T)0; \
        break;                                                                              \
    default: break;                                                                         \
    }                                                                                       \
}                                                                                           \
/* y = act(x) without touching x; the derivative, like rc_grad, from y */                   \
static inline T rc_act1_##SFX(T x, int act) {                                               \
    switch (act) {                                                                          \
    case RC_TANH: return TANH(x);                                                           \
    case RC_RELU: return x < 0 ? (T)0 : x;                                                  \
    case RC_SIGMOID: return EXP_SIGMOID(x);                                                 \
    case RC_HARD_SIGMOID: { T v = (x + (T)3) / (T)6; v = v < 0 ? (T)0 : v;                  \
                            return v > 1 ? (T)1 : v; }                                      \
    default: return x;                                                                      \
    }                                                                                       \
}                                                                                           \
static inline T rc_dact1_##SFX(T y, int act) {                                              \
    switch (act) {                                                                          \
    case RC_TANH: return (T)1 - y * y;                                                      \
    case RC_RELU: return y > 0 ? (T)1 : (T)0;                                               \
    case RC_SIGMOID: return y * ((T)1 - y);                                                 \
    case RC_HARD_SIGMOID: return (y > 0 && y < 1) ? (T)(1.0 / 6.0) : (T)0;                  \
    default: return (T)1;                                                                   \
    }                                                                                       \
}

RC_DEFINE_ACTIVATIONS(float, f, rc_sigmoidf, rc_tanhf)
RC_DEFINE_ACTIVATIONS(double, d, rc_sigmoid, tanh)

#if defined(__AVX2__) && defined(__FMA__)
/* Eight floats at a time, for the hottest loops. The same exp as rc_expf; the divisions of
 * sigmoid and tanh become a reciprocal estimate refined by one Newton step (relative error
 * about 1e-7 instead of 0.5 ulp): a vdivps stalls for ~10 cycles, and an LSTM step makes five
 * per unit. min/max take the constant first, so a NaN input comes out NaN. */
#include <immintrin.h>
#define RC_HAVE_V8 1
static inline __m256 rc_exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_set1_ps(88.0f), x);
    x = _mm256_max_ps(_mm256_set1_ps(-87.0f), x);
    __m256 n = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f),
                                               _mm256_set1_ps(0.5f)));
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n),
                                                      _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}
static inline __m256 rc_recip8(__m256 d) {
    __m256 r = _mm256_rcp_ps(d);
    return _mm256_mul_ps(r, _mm256_fnmadd_ps(d, r, _mm256_set1_ps(2.0f)));
}
static inline __m256 rc_sigmoid8(__m256 x) {
    return rc_recip8(_mm256_add_ps(_mm256_set1_ps(1.0f),
                                   rc_exp8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}
static inline __m256 rc_tanh8(__m256 x) {
    /* as rc_tanhf: the odd series below |x| = 0.3, else 1 - 2 / (e^{2x} + 1) */
    __m256 x2 = _mm256_mul_ps(x, x);
    __m256 q = _mm256_fmadd_ps(x2, _mm256_set1_ps(0.0218694885f), _mm256_set1_ps(-0.0539682540f));
    q = _mm256_fmadd_ps(x2, q, _mm256_set1_ps(0.133333333f));
    q = _mm256_fmadd_ps(x2, q, _mm256_set1_ps(-0.333333333f));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(x, x2), q, x);
    __m256 e = rc_exp8(_mm256_add_ps(x, x));
    __m256 large = _mm256_fnmadd_ps(_mm256_set1_ps(2.0f),
                                    rc_recip8(_mm256_add_ps(e, _mm256_set1_ps(1.0f))),
                                    _mm256_set1_ps(1.0f));
    __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    return _mm256_blendv_ps(large, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.3f), _CMP_LT_OQ));
}
#endif

#endif
