/* x87 and SSE arithmetic as libc formats it: depends on the FPU's initial
 * control words (extended precision, exceptions masked). */
#include <math.h>
#include <stdio.h>

int main(void) {
    volatile double d = 17.0859375, z = 0.0;
    volatile long double ld = 1.0L / 3.0L;
    printf("%.4f %.17g %.20Lg\n", d, d / 7.0, ld);
    printf("%g %g %g\n", 1.0 / z, -1.0 / z, z / z);     /* masked: inf, -inf, nan */
    printf("%.10Lf %.6e\n", ld * 3.0L - 1.0L, sqrt(2.0));
    return 0;
}
