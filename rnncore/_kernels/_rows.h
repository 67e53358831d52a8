/* The C of _rows.pyx: inner loops of the sparse optimizer steps and one row copy. */
#ifndef RNNCORE_ROWS_H
#define RNNCORE_ROWS_H

/* The inner loops of rmsprop_rows, one row each. restrict: a row of sums, of slices and
   of the table never overlap, so the compiler vectorises without overlap checks, which
   cost more than the arithmetic for rows of 16 floats. Each operation rounded on its own
   (the module is built with -ffp-contract=off). */
#define RC_RMSPROP_ROWS(T, SFX)                                                          \
static inline void rc_add_scaled_squares_##SFX(T *restrict s, const T *restrict g,     \
                                               T scale, long n) {                     \
    for (long j = 0; j < n; j++) { T x = g[j] * g[j]; s[j] += scale * x; }            \
}                                                                                     \
static inline void rc_add_scaled_##SFX(T *restrict s, const T *restrict g, T scale,    \
                                       long n) {                                      \
    for (long j = 0; j < n; j++) s[j] += scale * g[j];                                \
}                                                                                     \
static inline void rc_sub_quotients_##SFX(T *restrict w, const T *restrict g, T lr,    \
                                          const T *restrict d, long n) {              \
    for (long j = 0; j < n; j++) { T x = lr * g[j]; w[j] = w[j] - x / d[j]; }         \
}                                                                                     \
static inline void rc_add_quotients_##SFX(T *restrict s, const T *restrict g, T lr,    \
                                          const T *restrict d, long n) {              \
    for (long j = 0; j < n; j++) { T x = lr * g[j]; s[j] += x / d[j]; }               \
}
RC_RMSPROP_ROWS(float, f)
RC_RMSPROP_ROWS(double, d)

/* The inner loop of scatter_add_rows_and_squares, one slice each: s += g and q += g * g
   (times scale when scaled), the square rounded before the add. With restrict it vectorises
   with no overlap checks: 6,400 slices of 16 floats in 22-25 us where the loop in Cython,
   with its checks, took 28 us (the loads and stores bound it: rows in order or at random
   take as long). */
#define RC_ROW_AND_SQUARE(T, SFX)                                                        \
static inline void rc_add_row_and_square_##SFX(T *restrict s, T *restrict q,           \
                                               const T *restrict g, long n) {         \
    for (long j = 0; j < n; j++) { T x = g[j] * g[j]; s[j] += g[j]; q[j] += x; }       \
}                                                                                     \
static inline void rc_add_row_and_scaled_square_##SFX(T *restrict s, T *restrict q,    \
                                                      const T *restrict g, T scale,   \
                                                      long n) {                       \
    for (long j = 0; j < n; j++) { T x = g[j] * g[j]; s[j] += g[j]; q[j] += scale * x; } \
}
RC_ROW_AND_SQUARE(float, f)
RC_ROW_AND_SQUARE(double, d)

/* One row copy, inlined: libc's memcpy call costs about 4 ns, as much as copying a
   16-float row itself. */
static inline void rc_copy_f(float *restrict dst, const float *restrict src, long n) {
    for (long j = 0; j < n; j++) dst[j] = src[j];
}
static inline void rc_copy_d(double *restrict dst, const double *restrict src, long n) {
    for (long j = 0; j < n; j++) dst[j] = src[j];
}

#endif
