/* The lab's old-kernel shim (hostnet_lab.hosts), preloaded into a host's python3:
   a 3.10 kernel's answers to what the agent probes. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/socket.h>

/* What a 3.10 kernel answers: netlink_setsockopt() knows neither option. */
int setsockopt(int fd, int level, int name, const void *value, socklen_t length)
{
    static int (*real)(int, int, int, const void *, socklen_t);
    if (level == 270 && (name == 11 || name == 12)) {  /* SOL_NETLINK: EXT_ACK, GET_STRICT_CHK */
        errno = ENOPROTOOPT;
        return -1;
    }
    if (!real)
        real = (int (*)(int, int, int, const void *, socklen_t))dlsym(RTLD_NEXT, "setsockopt");
    return real(fd, level, name, value, length);
}

/* No memfd_create before 3.17. */
int memfd_create(const char *name, unsigned int flags)
{
    (void)name;
    (void)flags;
    errno = ENOSYS;
    return -1;
}
