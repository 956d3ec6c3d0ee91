/* prctl PR_GET_SECUREBITS / PR_SET_SECUREBITS: the process's own securebits,
 * set only with CAP_SETPCAP (LTP prctl02). */
#include <errno.h>
#include <stdio.h>
#include <sys/prctl.h>

int main(void)
{
    int bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
    printf("get %d\n", bits);
    int r = prctl(PR_SET_SECUREBITS, bits, 0, 0, 0);
    printf("set same %d errno %d\n", r, r < 0 ? errno : 0);
    r = prctl(PR_SET_SECUREBITS, 1 << 30, 0, 0, 0);
    printf("set unknown bit %d errno %d\n", r, r < 0 ? errno : 0);
    return 0;
}
