#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <stdint.h>
#include <stdlib.h>
struct open_how { uint64_t flags, mode, resolve; };
#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#define RESOLVE_CACHED 0x20
#define NR_openat2 437
static long o2(int d, const char *p, struct open_how *h, size_t sz){return syscall(NR_openat2,d,p,h,sz);}
static void show(const char*w,long r){printf("%-40s %s\n",w,r<0?strerror(errno):"ok");if(r>=0)close(r);}
/* escape SECRET: every resolve flag against a path out of the root */
static int escape(const char *secret) {
    const uint64_t res[] = {0, RESOLVE_NO_XDEV, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS,
                            RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_CACHED};
    char up[4096] = "";
    for (int i = 0; i < 30; i++) strcat(up, "../");
    const char *paths[] = {secret, up, "/proc/self/root/..", "/proc/self/cwd/../..", "/..", 0};
    int leaks = 0, tries = 0;
    for (unsigned r = 0; r < sizeof res / sizeof *res; r++)
        for (int p = 0; paths[p]; p++) {
            char path[8192];
            snprintf(path, sizeof path, "%s%s", paths[p], p == 0 ? "" : secret);
            int dirs[] = {AT_FDCWD, open("/", O_RDONLY | O_DIRECTORY),
                          open("/proc/self", O_RDONLY | O_DIRECTORY)};
            for (int d = 0; d < 3; d++) {
                struct open_how h = {.flags = O_RDONLY, .resolve = res[r]};
                long fd = o2(dirs[d], path, &h, sizeof h);
                tries++;
                if (fd >= 0) {
                    char buf[64] = {0};
                    read(fd, buf, sizeof buf - 1);
                    if (strstr(buf, "S3CRET")) { printf("LEAK %s resolve %#llx\n", path,
                                                        (unsigned long long)res[r]); leaks++; }
                    close(fd);
                }
                if (dirs[d] >= 0) close(dirs[d]);
            }
        }
    printf("tries %d leaks %d\n", tries, leaks);
    return 0;
}

int main(int argc, char **argv){
 setvbuf(stdout, NULL, _IONBF, 0);
 if (argc > 2) return escape(argv[2]);
 int d=open("/usr",O_RDONLY|O_DIRECTORY);
 struct open_how h={.flags=O_RDONLY};
 show("plain",o2(d,"bin/sh",&h,sizeof h));
 h.resolve=RESOLVE_BENEATH; show("beneath ok",o2(d,"bin/ls",&h,sizeof h));
 show("beneath ..",o2(d,"../etc/passwd",&h,sizeof h));
 show("beneath abs",o2(d,"/etc/passwd",&h,sizeof h));
 h.resolve=RESOLVE_IN_ROOT; show("inroot abs",o2(d,"/bin/ls",&h,sizeof h));
 show("inroot ..",o2(d,"../../bin/ls",&h,sizeof h));
 h.resolve=RESOLVE_NO_SYMLINKS; show("nosym /bin/ls",o2(AT_FDCWD,"/bin/ls",&h,sizeof h));
 show("nosym /usr/bin/ls",o2(AT_FDCWD,"/usr/bin/ls",&h,sizeof h));
 h.resolve=RESOLVE_NO_MAGICLINKS; show("nomagic /proc/self/exe",o2(AT_FDCWD,"/proc/self/exe",&h,sizeof h));
 show("nomagic /proc/self/status",o2(AT_FDCWD,"/proc/self/status",&h,sizeof h));
 h.resolve=0; show("magic /proc/self/exe",o2(AT_FDCWD,"/proc/self/exe",&h,sizeof h));
 h.resolve=RESOLVE_NO_XDEV; show("noxdev /proc/self/status",o2(AT_FDCWD,"/proc/self/status",&h,sizeof h));
 show("noxdev /usr/bin/ls",o2(AT_FDCWD,"/usr/bin/ls",&h,sizeof h));
 h.resolve=RESOLVE_CACHED; show("cached",o2(AT_FDCWD,"/usr/bin/ls",&h,sizeof h));
 h.flags=O_CREAT|O_WRONLY; show("cached creat",o2(AT_FDCWD,"/tmp/x",&h,sizeof h));
 h.flags=O_RDONLY;h.resolve=RESOLVE_BENEATH|RESOLVE_IN_ROOT; show("both",o2(d,"bin",&h,sizeof h));
 h.resolve=0x40; show("bad resolve",o2(d,"bin",&h,sizeof h));
 h.resolve=0; h.mode=0644; show("mode w/o creat",o2(d,"bin",&h,sizeof h));
 h.mode=0; h.flags=1ULL<<40; show("high flags",o2(d,"bin",&h,sizeof h));
 h.flags=0x10000000; show("unknown flag",o2(d,"bin",&h,sizeof h));
 h.flags=0; show("size 8",o2(d,"bin",&h,8));
 show("size 8192",o2(d,"bin",&h,8192));
 char big[64]={0}; memcpy(big,&h,sizeof h); show("size 64 zeros",o2(d,"bin",(void*)big,64));
 big[40]=1; show("size 64 nonzero",o2(d,"bin",(void*)big,64));
 show("bad how ptr",o2(d,"bin",(void*)8,sizeof h));
 show("bad path ptr",o2(d,(void*)8,&h,sizeof h));
 show("huge size",o2(d,"bin",&h,(size_t)-1));
 h.flags=O_PATH|O_RDWR; show("O_PATH|O_RDWR",o2(d,"bin",&h,sizeof h));
 h.flags=O_CREAT; h.mode=010000; show("bad mode",o2(d,"x",&h,sizeof h));
 char hb[256]; int mid; *(unsigned*)hb=128;
 show("name_to_handle_at", syscall(SYS_name_to_handle_at, AT_FDCWD, "/usr", hb, &mid, 0));
 show("name_to_handle_at badflags", syscall(SYS_name_to_handle_at, AT_FDCWD, "/usr", hb, &mid, 0x8));
 show("name_to_handle_at enoent", syscall(SYS_name_to_handle_at, AT_FDCWD, "/nonexist", hb, &mid, 0));
 show("open_by_handle_at", syscall(SYS_open_by_handle_at, d, hb, O_RDONLY));
 show("open_by_handle_at badfd", syscall(SYS_open_by_handle_at, 999, hb, O_RDONLY));
 return 0;}
