/* argv, environment, stdio buffering and the exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    printf("pointer size %zu, argc %d\n", sizeof(void *), argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d] = \"%s\" (%zu bytes)\n", i, argv[i], strlen(argv[i]));
    const char *v = getenv("SYSGATE_TEST_VAR");
    printf("SYSGATE_TEST_VAR=%s\n", v ? v : "(unset)");
    fprintf(stderr, "to stderr\n");
    char line[256];
    size_t total = 0;
    while (fgets(line, sizeof line, stdin))
        total += strlen(line);
    printf("stdin bytes %zu\n", total);
    printf("pid positive: %d, uid matches euid: %d\n", getpid() > 0, getuid() == geteuid());
    return argc > 1 ? atoi(argv[1]) : 0;
}
