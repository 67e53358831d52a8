/* The C of _cpu.pyx: the CPU's x86-64 level from CPUID and XGETBV. */
#ifndef RNNCORE_CPU_H
#define RNNCORE_CPU_H

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define RC_BIT(reg, n) (((reg) >> (n)) & 1u)
static unsigned long long rc_xcr0(void) {
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
/* The x86-64 psABI level (1 to 4) whose every feature the CPU has and the OS enables:
   what -march=x86-64-v<level> code needs. */
static int rc_x86_level(void) {
    unsigned int a, b, c1 = 0, d1 = 0, b7 = 0, c7, d7, c81 = 0, d81;
    if (!__get_cpuid(1, &a, &b, &c1, &d1)) return 1;
    if (__get_cpuid_max(0, 0) >= 7) __cpuid_count(7, 0, a, b7, c7, d7);
    if (!__get_cpuid(0x80000001u, &a, &b, &c81, &d81)) c81 = 0;
    int v2 = RC_BIT(c1, 0) && RC_BIT(c1, 9) && RC_BIT(c1, 13) && RC_BIT(c1, 19)
             && RC_BIT(c1, 20) && RC_BIT(c1, 23) && RC_BIT(c81, 0);
    /* SSE3 SSSE3 CX16 SSE4.1 SSE4.2 POPCNT, LAHF-SAHF */
    if (!v2) return 1;
    if (!RC_BIT(c1, 27)) return 2;  /* no OSXSAVE: the OS enables no AVX state */
    unsigned long long xcr0 = rc_xcr0();
    int v3 = (xcr0 & 0x6) == 0x6 && RC_BIT(c1, 12) && RC_BIT(c1, 22) && RC_BIT(c1, 26)
             && RC_BIT(c1, 28) && RC_BIT(c1, 29) && RC_BIT(b7, 3) && RC_BIT(b7, 5)
             && RC_BIT(b7, 8) && RC_BIT(c81, 5);
    /* XMM+YMM state; FMA MOVBE XSAVE AVX F16C; BMI1 AVX2 BMI2; LZCNT */
    if (!v3) return 2;
    int v4 = (xcr0 & 0xe6) == 0xe6 && RC_BIT(b7, 16) && RC_BIT(b7, 17) && RC_BIT(b7, 28)
             && RC_BIT(b7, 30) && RC_BIT(b7, 31);
    /* opmask+ZMM state; AVX512F DQ CD BW VL */
    return v4 ? 4 : 3;
}
#else
static int rc_x86_level(void) { return 0; }
#endif

#endif
