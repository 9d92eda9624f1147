/* ft_sys.h - system calls made without libc, for a forked child on its
 * way to its function.
 *
 * A forked child shares the parent's libc code, but not the page-table
 * entries for it: fork copies those only for memory that was written, so
 * the first call of each libc function the parent's fork path did not
 * itself run is a page fault in the child (on a virtual machine ~25 us,
 * as much as the fork's own work).  signal, sigprocmask, dup2,
 * close_range and __fpending were five such faults per child, a third of
 * the cost of starting a Process.  Made here inline, these calls run
 * from the page of forktop's code the child is already executing.
 *
 * Each returns what the kernel does: >= 0, or -errno, and leaves errno
 * alone: the parent uses ft__sys_waitid for that (errno is on the
 * thread's own page, one more to fault in after every fork when a reap
 * ends with ECHILD).  Elsewhere than x86-64 and arm64 they go through
 * libc's syscall(). */
#ifndef FT_SYS_H
#define FT_SYS_H

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
static inline long ft__sys5(long n, long a, long b, long c, long d, long e) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                   : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
static inline long ft__sys5(long n, long a, long b, long c, long d, long e) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
  return x0;
}
#else
#include <errno.h>
#include <unistd.h>
static inline long ft__sys5(long n, long a, long b, long c, long d, long e) {
  long r = syscall(n, a, b, c, d, e);
  return r < 0 ? -errno : r;
}
#endif

static inline long ft__sys4(long n, long a, long b, long c, long d) {
  return ft__sys5(n, a, b, c, d, 0);
}

/* The kernel's struct sigaction, all zero: SIG_DFL, no flags, empty mask,
 * whatever the architecture's field order. */
typedef struct ft__ksigaction {
  unsigned long words[4];
} ft__ksigaction;

/* The arguments live on the stack, which the child has written already:
 * a constant in read-only data would be one more page to fault in. */
static inline long ft__sys_sigdefault(int signo) {
  ft__ksigaction dfl = {{0, 0, 0, 0}};
  return ft__sys4(SYS_rt_sigaction, signo, (long)&dfl, 0, 8);
}

static inline long ft__sys_unblock_all(void) {
  unsigned long none = 0;
  return ft__sys4(SYS_rt_sigprocmask, SIG_SETMASK, (long)&none, 0, 8);
}

/* dup2 for distinct fds (dup3 is the call both architectures have). */
static inline long ft__sys_dup2(int from, int to) { return ft__sys4(SYS_dup3, from, to, 0, 0); }

static inline long ft__sys_dupfd_cloexec(int fd, int min) {
  return ft__sys4(SYS_fcntl, fd, F_DUPFD_CLOEXEC, min, 0);
}

static inline long ft__sys_close(int fd) { return ft__sys4(SYS_close, fd, 0, 0, 0); }

static inline long ft__sys_close_range(unsigned lo, unsigned hi) {
  return ft__sys4(SYS_close_range, lo, hi, 0, 0);
}

static inline long ft__sys_pipe2(int fds[2], int flags) {
  return ft__sys4(SYS_pipe2, (long)fds, flags, 0, 0);
}

static inline long ft__sys_sendmsg(int fd, const void *msg, int flags) {
  return ft__sys4(SYS_sendmsg, fd, (long)msg, flags, 0);
}

static inline long ft__sys_chdir(const char *path) {
  return ft__sys4(SYS_chdir, (long)path, 0, 0, 0);
}

static inline long ft__sys_write(int fd, const void *p, unsigned long n) {
  return ft__sys4(SYS_write, fd, (long)p, (long)n, 0);
}

static inline long ft__sys_waitid(int idtype, long id, void *info, int options) {
  return ft__sys5(SYS_waitid, idtype, id, (long)info, options, 0);
}

static inline long ft__sys_pdeathsig(int signo) {
  return ft__sys4(SYS_prctl, 1 /* PR_SET_PDEATHSIG */, signo, 0, 0);
}

static inline long ft__sys_getppid(void) { return ft__sys4(SYS_getppid, 0, 0, 0, 0); }

static inline _Noreturn void ft__sys_exit(int code) {
  for (;;)
    ft__sys4(SYS_exit_group, code, 0, 0, 0);
}

#endif
