"""Which x86-64 micro-architecture level this CPU runs, for the choice of a kernel build.

Compiled for the baseline ISA only (it runs before anything else is known about the CPU). It
reads CPUID rather than /proc/cpuinfo: that is what the instructions themselves depend on, it
works on every OS, and XGETBV tells whether the OS saves the wide registers (a CPU with AVX-512
under an OS, or a hypervisor, that does not enable it must not run AVX-512 code).
"""

cdef extern from "_cpu.h":
    int rc_x86_level() nogil


def x86_level():
    """The x86-64 level this CPU and OS run: 1 (baseline), 2, 3 (AVX2, FMA, ...) or 4
    (AVX-512 F/BW/CD/DQ/VL); 0 when the CPU is not x86."""
    return rc_x86_level()
