/* Prints each structure's size and its fields' offsets as this ABI's C
   compiler lays them out, for tests/test_abi.py to compare with
   sysgate/abi/structs.py. */
#define _GNU_SOURCE
#include <linux/time_types.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <utime.h>

#define S(t, name) printf("%s sizeof %zu\n", name, sizeof(t))
#define F(t, name, f, field) printf("%s %s %zu\n", name, field, offsetof(t, f))

int main(void) {
    S(struct timespec, "timespec");
    F(struct timespec, "timespec", tv_sec, "sec");
    F(struct timespec, "timespec", tv_nsec, "nsec");
    S(struct __kernel_timespec, "timespec64");
    F(struct __kernel_timespec, "timespec64", tv_nsec, "nsec");
    S(struct timeval, "timeval");
    F(struct timeval, "timeval", tv_usec, "usec");
    S(struct utimbuf, "utimbuf");
    F(struct utimbuf, "utimbuf", modtime, "modtime");
    S(struct itimerspec, "itimerspec");
    F(struct itimerspec, "itimerspec", it_value.tv_sec, "sec");
    F(struct itimerspec, "itimerspec", it_value.tv_nsec, "nsec");
    S(struct iovec, "iovec");
    F(struct iovec, "iovec", iov_len, "len");
    S(struct msghdr, "msghdr");
    F(struct msghdr, "msghdr", msg_namelen, "namelen");
    F(struct msghdr, "msghdr", msg_iov, "iov");
    F(struct msghdr, "msghdr", msg_iovlen, "iovlen");
    F(struct msghdr, "msghdr", msg_control, "control");
    F(struct msghdr, "msghdr", msg_controllen, "controllen");
    F(struct msghdr, "msghdr", msg_flags, "flags");
    S(struct mmsghdr, "mmsghdr");
    F(struct mmsghdr, "mmsghdr", msg_len, "len");
    S(struct cmsghdr, "cmsghdr");
    F(struct cmsghdr, "cmsghdr", cmsg_level, "level");
    F(struct cmsghdr, "cmsghdr", cmsg_type, "type");
    S(stack_t, "stack_t");
    F(stack_t, "stack_t", ss_flags, "flags");
    F(stack_t, "stack_t", ss_size, "size");
    return 0;
}
