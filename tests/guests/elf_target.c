/* The program the ELF mutation tests corrupt: prints a line, exits 7. */
#include <stdio.h>

int main(void) {
    puts("target ran");
    return 7;
}
