/* The cells' elementwise rows ("postgemm" in oneDNN's words): what each cell does to one
 * batch row of a step once the step's recurrent product is in. The recurrence driver
 * (_recurrence.pyx) owns everything else: the time loop, blocking, products, masks, dropout
 * operands and truncation.
 *
 * Rows with Keras's default activations (sigmoid gates, tanh) are ONE loop over the units:
 * for small layers a row is a vector or two, and separate passes per gate cost more in loop
 * overhead than in arithmetic. Other activations take the driver's generic path of separate
 * passes (_activations.pxd). restrict: gate blocks, states and gradients never overlap, which
 * lets the compiler vectorise.
 */
#ifndef RNNCORE_CELLS_H
#define RNNCORE_CELLS_H

#include "_fastmath.h"

/* The unit-block threads of the driver meet at a barrier once per step: every thread's next
   product needs the whole of h_{t-1}. Without OpenMP there is one thread and nothing to meet. */
#ifdef _OPENMP
#include <omp.h>
#define rc_barrier() _Pragma("omp barrier")
static int rc_team_size(void) { return omp_get_num_threads(); }
static int rc_thread_num(void) { return omp_get_thread_num(); }
#else
#define rc_barrier()
static int rc_team_size(void) { return 1; }
static int rc_thread_num(void) { return 0; }
#endif

/* ---------------- LSTM ---------------- */
/* One row of an LSTM step with Keras's default activations, in ONE loop over n units:
   the separate passes of the generic path (one per gate, the cell, act(c), the output)
   cost more in loop overhead than in arithmetic when a row is a vector or two (units 8).
   gi, gf, gg, go are the row's gate blocks (pre-activations in, gates out). restrict:
   gates, states and gradients never overlap, which lets the compiler vectorise. */
#define RC_LSTM_ROWS(T, SFX, SIGMOID, TANH)                                              \
static inline void rc_lstm_fwd_##SFX(                                                   \
        T *restrict gi, T *restrict gf, T *restrict gg, T *restrict go,                \
        const T *restrict cp, T *restrict cn, T *restrict tc, T *restrict hn, long n) { \
    for (long j = 0; j < n; j++) {                                                      \
        T i = SIGMOID(gi[j]), f = SIGMOID(gf[j]), g = TANH(gg[j]), o = SIGMOID(go[j]);  \
        T c = f * cp[j] + i * g;                                                        \
        T a = TANH(c);                                                                  \
        gi[j] = i; gf[j] = f; gg[j] = g; go[j] = o;                                     \
        cn[j] = c; tc[j] = a; hn[j] = o * a;                                            \
    }                                                                                   \
}                                                                                       \
/* backward, one unmasked row: gh = dh + dhs reaches h_t, dct = dL/dc_t;                \
   out: the four pre-activation gradients, dc = dL/dc_{t-1}, dh = 0 (the caller's       \
   product adds dz·Uᵀ to it) */                                                         \
static inline void rc_lstm_bwd_##SFX(                                                   \
        const T *restrict gi, const T *restrict gf, const T *restrict gg,              \
        const T *restrict go, const T *restrict cp, const T *restrict tc,              \
        const T *restrict dhs, T *restrict dh, T *restrict dc, T *restrict di,         \
        T *restrict df, T *restrict dg, T *restrict dout, long n) {                     \
    for (long j = 0; j < n; j++) {                                                      \
        T gh = dh[j] + dhs[j];                                                          \
        T i = gi[j], f = gf[j], g = gg[j], o = go[j], a = tc[j];                        \
        T dct = gh * o * ((T)1 - a * a) + dc[j];                                        \
        dout[j] = gh * a * (o * ((T)1 - o));                                            \
        di[j] = dct * g * (i * ((T)1 - i));                                             \
        df[j] = dct * cp[j] * (f * ((T)1 - f));                                         \
        dg[j] = dct * i * ((T)1 - g * g);                                               \
        dc[j] = dct * f;                                                                \
        dh[j] = 0;                                                                      \
    }                                                                                   \
}
RC_LSTM_ROWS(float, f_any, rc_sigmoidf, rc_tanhf)
RC_LSTM_ROWS(double, d, rc_sigmoid, tanh)
#define rc_lstm_bwd_f rc_lstm_bwd_f_any
/* the float forward row eight units at a time where the machine has AVX2 and FMA */
static inline void rc_lstm_fwd_f(
        float *restrict gi, float *restrict gf, float *restrict gg, float *restrict go,
        const float *restrict cp, float *restrict cn, float *restrict tc,
        float *restrict hn, long n) {
    long j = 0;
#ifdef RC_HAVE_V8
    for (; j + 8 <= n; j += 8) {
        __m256 i = rc_sigmoid8(_mm256_loadu_ps(gi + j));
        __m256 f = rc_sigmoid8(_mm256_loadu_ps(gf + j));
        __m256 g = rc_tanh8(_mm256_loadu_ps(gg + j));
        __m256 o = rc_sigmoid8(_mm256_loadu_ps(go + j));
        __m256 c = _mm256_fmadd_ps(f, _mm256_loadu_ps(cp + j), _mm256_mul_ps(i, g));
        __m256 a = rc_tanh8(c);
        _mm256_storeu_ps(gi + j, i); _mm256_storeu_ps(gf + j, f);
        _mm256_storeu_ps(gg + j, g); _mm256_storeu_ps(go + j, o);
        _mm256_storeu_ps(cn + j, c); _mm256_storeu_ps(tc + j, a);
        _mm256_storeu_ps(hn + j, _mm256_mul_ps(o, a));
    }
#endif
    rc_lstm_fwd_f_any(gi + j, gf + j, gg + j, go + j, cp + j, cn + j, tc + j, hn + j, n - j);
}
/* nrows consecutive rows of one step (z rows 4n apart, state rows n apart), two rows at a
   time where n is a multiple of 8: the two rows' chains exp -> c -> tanh(c) -> h are
   independent, and side by side the processor overlaps them (four at a time measured the
   same). */
#define RC_LSTM_ROWS_AT_ONCE 2
static inline void rc_lstm_fwd_rows_f(float *restrict z, const float *restrict cp,
                                      float *restrict cn, float *restrict tc,
                                      float *restrict hn, long n, long nrows) {
    long b = 0;
#ifdef RC_HAVE_V8
    if (n % 8 == 0) {
        for (; b + RC_LSTM_ROWS_AT_ONCE <= nrows; b += RC_LSTM_ROWS_AT_ONCE) {
            for (long j = 0; j < n; j += 8) {
                __m256 i[RC_LSTM_ROWS_AT_ONCE], f[RC_LSTM_ROWS_AT_ONCE], g[RC_LSTM_ROWS_AT_ONCE];
                __m256 o[RC_LSTM_ROWS_AT_ONCE], c[RC_LSTM_ROWS_AT_ONCE], a[RC_LSTM_ROWS_AT_ONCE];
                #pragma GCC unroll 8
                for (int r = 0; r < RC_LSTM_ROWS_AT_ONCE; r++) {
                    float *zr = z + (b + r) * 4 * n + j;
                    i[r] = rc_sigmoid8(_mm256_loadu_ps(zr));
                    f[r] = rc_sigmoid8(_mm256_loadu_ps(zr + n));
                    g[r] = rc_tanh8(_mm256_loadu_ps(zr + 2 * n));
                    o[r] = rc_sigmoid8(_mm256_loadu_ps(zr + 3 * n));
                }
                #pragma GCC unroll 8
                for (int r = 0; r < RC_LSTM_ROWS_AT_ONCE; r++)
                    c[r] = _mm256_fmadd_ps(f[r], _mm256_loadu_ps(cp + (b + r) * n + j),
                                           _mm256_mul_ps(i[r], g[r]));
                #pragma GCC unroll 8
                for (int r = 0; r < RC_LSTM_ROWS_AT_ONCE; r++) a[r] = rc_tanh8(c[r]);
                #pragma GCC unroll 8
                for (int r = 0; r < RC_LSTM_ROWS_AT_ONCE; r++) {
                    float *zr = z + (b + r) * 4 * n + j;
                    long sr = (b + r) * n + j;
                    _mm256_storeu_ps(zr, i[r]); _mm256_storeu_ps(zr + n, f[r]);
                    _mm256_storeu_ps(zr + 2 * n, g[r]); _mm256_storeu_ps(zr + 3 * n, o[r]);
                    _mm256_storeu_ps(cn + sr, c[r]); _mm256_storeu_ps(tc + sr, a[r]);
                    _mm256_storeu_ps(hn + sr, _mm256_mul_ps(o[r], a[r]));
                }
            }
        }
    }
#endif
    for (; b < nrows; b++) {
        float *zr = z + b * 4 * n;
        rc_lstm_fwd_f(zr, zr + n, zr + 2 * n, zr + 3 * n, cp + b * n, cn + b * n,
                      tc + b * n, hn + b * n, n);
    }
}
static inline void rc_lstm_fwd_rows_d(double *restrict z, const double *restrict cp,
                                      double *restrict cn, double *restrict tc,
                                      double *restrict hn, long n, long nrows) {
    for (long b = 0; b < nrows; b++) {
        double *zr = z + b * 4 * n;
        rc_lstm_fwd_d(zr, zr + n, zr + 2 * n, zr + 3 * n, cp + b * n, cn + b * n,
                      tc + b * n, hn + b * n, n);
    }
}

/* ---------------- GRU ---------------- */
/* Rows of a GRU step with Keras's default activations (sigmoid gates, tanh candidate),
   each in ONE loop over the units. For small layers a row is a vector or two, and the
   generic path's separate passes per gate cost more in loop overhead than in arithmetic.
   restrict tells the compiler that gate blocks, products and states do not overlap, so
   it vectorises; without it the many pointers defeat its alias checks. */
#define RC_GRU_ROWS(T, SFX, SIGMOID, TANH)                                               \
/* reset_after forward: z, r, hh in place, hr = h·U_h + b'_h, hn = h_t */                \
static inline void rc_gru_fwd_after_##SFX(                                              \
        T *restrict gz, T *restrict gr, T *restrict gh, const T *restrict rz,          \
        const T *restrict rr, const T *restrict rh, const T *restrict rbias,           \
        T *restrict hr, const T *restrict hp, T *restrict hn, int H) {                 \
    for (int j = 0; j < H; j++) {                                                       \
        T z = SIGMOID(gz[j] + rz[j]);                                                   \
        T r = SIGMOID(gr[j] + rr[j]);                                                   \
        T b = rh[j] + rbias[j];                                                         \
        T h = TANH(gh[j] + r * b);                                                      \
        gz[j] = z; gr[j] = r; gh[j] = h; hr[j] = b;                                     \
        hn[j] = z * hp[j] + ((T)1 - z) * h;                                             \
    }                                                                                   \
}                                                                                       \
/* reset_before forward, before the candidate's product: z, r in place, hr = r ⊙ h */   \
static inline void rc_gru_fwd_before_zr_##SFX(                                          \
        T *restrict gz, T *restrict gr, const T *restrict ah, T *restrict hr, int H) {  \
    for (int j = 0; j < H; j++) {                                                       \
        T r = SIGMOID(gr[j]);                                                           \
        gz[j] = SIGMOID(gz[j]); gr[j] = r; hr[j] = r * ah[j];                           \
    }                                                                                   \
}                                                                                       \
/* reset_before forward, after it: hh in place, hn = h_t */                             \
static inline void rc_gru_fwd_before_h_##SFX(                                           \
        const T *restrict gz, T *restrict gh, const T *restrict hp, T *restrict hn,    \
        int H) {                                                                        \
    for (int j = 0; j < H; j++) {                                                       \
        T h = TANH(gh[j]);                                                              \
        gh[j] = h;                                                                      \
        hn[j] = gz[j] * hp[j] + ((T)1 - gz[j]) * h;                                     \
    }                                                                                   \
}                                                                                       \
/* backward, one unmasked row: g = dh + dhs; dz, dhh (pre-activation), dh = g ⊙ z;      \
   with reset_after also dr and the gradient of h·U_h + b'_h (into dzh; dhh -> dxh) */  \
static inline void rc_gru_bwd_##SFX(                                                    \
        const T *restrict gz, const T *restrict gr, const T *restrict gh,              \
        const T *restrict hp, const T *restrict hr, const T *restrict dhs,             \
        T *restrict dh, T *restrict dzz, T *restrict dzr, T *restrict dzh,             \
        T *restrict dxh, int H) {                                                       \
    for (int j = 0; j < H; j++) {                                                       \
        T g = dh[j] + dhs[j], z = gz[j], h = gh[j];                                     \
        T dhh = g * ((T)1 - z) * ((T)1 - h * h);                                        \
        dzz[j] = g * (hp[j] - h) * (z * ((T)1 - z));                                    \
        dh[j] = g * z;                                                                  \
        if (dxh) {                                                                      \
            T r = gr[j];                                                                \
            dxh[j] = dhh;                                                               \
            dzr[j] = dhh * hr[j] * (r * ((T)1 - r));                                    \
            dzh[j] = dhh * r;                                                           \
        } else {                                                                        \
            dzh[j] = dhh;                                                               \
        }                                                                               \
    }                                                                                   \
}                                                                                       \
/* reset_before backward, given d(r ⊙ h) = dhh·U_hᵀ: dr, and dh += d(r ⊙ h) ⊙ r ⊙ m */  \
static inline void rc_gru_bwd_before_r_##SFX(                                           \
        const T *restrict gr, const T *restrict ah, const T *restrict drh,             \
        const T *restrict mask, T *restrict dzr, T *restrict dh, int H) {              \
    for (int j = 0; j < H; j++) {                                                       \
        T r = gr[j], d = drh[j];                                                        \
        dzr[j] = d * ah[j] * (r * ((T)1 - r));                                          \
        dh[j] += mask ? d * r * mask[j] : d * r;                                        \
    }                                                                                   \
}
RC_GRU_ROWS(float, f, rc_sigmoidf, rc_tanhf)
RC_GRU_ROWS(double, d, rc_sigmoid, tanh)

#endif
