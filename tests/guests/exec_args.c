/* execve's argv and envp as copy_strings takes them: a long environment
 * of strings scattered over the heap, an array that runs across a page
 * into the next, a string as long as MAX_ARG_STRLEN allows and one more,
 * an array or a string on an unmapped page, a string that runs into one.
 * The exec'd copy ("show") prints what it got, so native and emulated
 * runs compare byte for byte. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARG_STRLEN (32 * 4096)

static const char *self;

static void try(const char *what, char **argv, char **envp)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execve(self, argv, envp);
        printf("%s: errno %d\n", what, errno);
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
}

static unsigned long sum(const char *s)
{
    unsigned long h = 5381;
    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h;
}

int main(int argc, char **argv, char **envp)
{
    if (argc > 1 && strcmp(argv[1], "show") == 0) {
        int n = 0;
        unsigned long h = 0;
        for (char **e = envp; *e; e++, n++)
            h = h * 31 + sum(*e);
        printf("show: argc %d, last arg %zu bytes, %d env strings, sum %lx\n", argc,
               strlen(argv[argc - 1]), n, h);
        return 0;
    }
    self = argv[0];
    long page = sysconf(_SC_PAGESIZE);

    /* 600 strings of varied lengths, each its own allocation */
    char **env = calloc(601, sizeof *env);
    for (int i = 0; i < 600; i++) {
        int len = 1 + (i * 37) % 300;
        env[i] = malloc(len + 8);
        int k = snprintf(env[i], 8, "V%d=", i);
        memset(env[i] + k, 'a' + i % 26, len);
        env[i][k + len] = 0;
        if (i % 7 == 0)
            malloc(5000);       /* gaps between them */
    }
    char *show[] = {(char *)self, "show", NULL};
    try("long environment", show, env);

    /* the pointer array ends on a page's last word, the NULL on the next */
    char *two = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char **arr = (char **)(two + page) - 3;
    arr[0] = (char *)self;
    arr[1] = "show";
    arr[2] = "across";
    arr[3] = NULL;
    try("array across pages", arr, env + 590);

    /* the array's NULL would be on an unmapped page */
    munmap(two + page, page);
    arr[2] = "x";
    try("array runs into a hole", arr, env + 590);

    /* a string ending where its page ends, the next page unmapped */
    char *s = two + page - 6;
    memcpy(s, "ends\0", 5);
    char *at_end[] = {(char *)self, "show", s, NULL};
    try("string at a page's end", at_end, env + 590);
    memcpy(two + page - 4, "abcd", 4);
    char *runs[] = {(char *)self, "show", two + page - 4, NULL};
    try("string runs into a hole", runs, env + 590);

    /* a pointer to nowhere in envp */
    char *bad_env[] = {"A=1", (char *)two + page, NULL};
    try("unmapped string", show, bad_env);

    /* MAX_ARG_STRLEN - 1 characters pass, MAX_ARG_STRLEN do not */
    char *big = malloc(MAX_ARG_STRLEN + 1);
    memset(big, 'z', MAX_ARG_STRLEN);
    big[MAX_ARG_STRLEN - 1] = 0;
    char *longest[] = {(char *)self, "show", big, NULL};
    try("longest string", longest, env + 590);
    big[MAX_ARG_STRLEN - 1] = 'z';
    big[MAX_ARG_STRLEN] = 0;
    try("string too long", longest, env + 590);
    printf("done\n");
    return 0;
}
