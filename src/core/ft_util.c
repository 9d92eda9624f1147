/* ft_util.c - byte buffers, clocks, and small system-call wrappers. */
#include "ft_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Make room for n more bytes, growing geometrically. */
int ft_buf_reserve(ft_buf *b, size_t n) {
  if (b->cap - b->len >= n)
    return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap - b->len < n)
    cap *= 2;
  char *d = realloc(b->data, cap);
  if (!d)
    return -ENOMEM;
  b->data = d;
  b->cap = cap;
  return 0;
}

/* Room for one more element in an array of n (doubling); 0 or -ENOMEM. */
int ft__grow(void **arr, size_t *cap, size_t n, size_t size) {
  if (n < *cap)
    return 0;
  size_t c = *cap ? *cap * 2 : 8;
  void *a = realloc(*arr, c * size);
  if (!a)
    return -ENOMEM;
  *arr = a;
  *cap = c;
  return 0;
}

/* Memory the parent writes while its children live, in a shared mapping.
 *
 * fork write-protects every private page of the parent, so the first write
 * to each one after every fork is a fault (about 25 us on a virtual
 * machine, as much as the fork's own work); a shared mapping stays
 * writable.  The loop keeps there what it writes on every start and that
 * holds no pointer into private memory: its pid table and its read
 * buffers.  A forked child sees this memory as the parent changes it, so
 * a child never reads it (ft_loop_free in a child leaves the pid table
 * alone).  Zeroed, populated, rounded up to whole pages. */
static size_t ft__page_round(size_t n) {
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  return n ? (n + pg - 1) / pg * pg : pg;
}

void *ft__shared_alloc(size_t n) {
  size_t len = ft__page_round(n);
  void *p =
      mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

void ft__shared_free(void *p, size_t n) {
  if (p)
    munmap(p, ft__page_round(n));
}

/* Records the parent writes while its children live: a Process, a child's
 * record, its streams, the loop's watches.  From malloc they sat on
 * private pages, and each start wrote five or six of them after its fork
 * (measured), each a copy-on-write fault; here they come from the loop's
 * shared memory (ft__shared_alloc) in fixed-size blocks.  Only the loop's
 * own process allocates and frees (callers check), and a forked child
 * never reads a block: it sees them change under it.
 *
 * Chunks start at 64 KiB and double, up to 4 MiB (each is a mapping of
 * its own, and a fork copies every mapping: at a fixed 64 KiB, a pool of
 * 4,000 workers had 120 of them, each fork's cost growing with the pool).
 * Each starts with a link to the one before and its size; they are
 * unmapped once the loop is freed and the last block with it: a Process
 * may be freed after its loop, as before.  Under AddressSanitizer a free
 * block is poisoned, so a use after free is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#define FT__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FT__ASAN 1
#endif
#endif
#ifdef FT__ASAN
#include <sanitizer/asan_interface.h>
#define ft__poison(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define ft__unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define ft__poison(p, n) ((void)(p), (void)(n))
#define ft__unpoison(p, n) ((void)(p), (void)(n))
#endif

#define FT__SLAB_CHUNK ((size_t)64 * 1024)
#define FT__SLAB_CHUNK_MAX ((size_t)4 << 20)

struct ft__slab {
  void *free;       /* free blocks, linked through their first word */
  char *next, *end; /* the unused rest of the newest chunk */
  char *chunks;     /* newest chunk; each starts with a link to the previous */
  size_t live;      /* blocks handed out and not freed */
  size_t chunk;     /* the newest chunk's size */
  bool released;    /* the loop is gone: unmap when live reaches 0 */
  pid_t pid;        /* the process that owns it */
};

ft__slab *ft__slab_new(void) {
  ft__slab *s = ft__shared_alloc(sizeof *s);
  if (s)
    s->pid = getpid();
  return s;
}

bool ft__slab_owned(const ft__slab *s) { return s && s->pid == getpid(); }

static void ft__slab_unmap(ft__slab *s) {
  for (char *c = s->chunks, *prev; c; c = prev) {
    prev = ((void **)c)[0];
    size_t len = ((size_t *)c)[1];
    ft__unpoison(c, len);
    ft__shared_free(c, len);
  }
  ft__shared_free(s, sizeof *s);
}

void *ft__slab_alloc(ft__slab *s) {
  char *p = s->free;
  if (p) {
    ft__unpoison(p, FT__SLAB_BLOCK);
    s->free = *(void **)p;
  } else {
    if (!s->next || (size_t)(s->end - s->next) < FT__SLAB_BLOCK) {
      size_t len = !s->chunk                        ? FT__SLAB_CHUNK
                   : s->chunk >= FT__SLAB_CHUNK_MAX ? FT__SLAB_CHUNK_MAX
                                                    : 2 * s->chunk;
      char *c = ft__shared_alloc(len);
      if (!c)
        return NULL;
      ((void **)c)[0] = s->chunks;
      ((size_t *)c)[1] = len;
      s->chunks = c;
      s->chunk = len;
      s->next = c + FT__SLAB_BLOCK; /* the first block holds the link and the size */
      s->end = c + len;
    }
    p = s->next;
    s->next += FT__SLAB_BLOCK;
  }
  memset(p, 0, FT__SLAB_BLOCK);
  s->live++;
  return p;
}

void ft__slab_free(ft__slab *s, void *p) {
  if (!p)
    return;
  *(void **)p = s->free;
  s->free = p;
  ft__poison((char *)p + sizeof(void *), FT__SLAB_BLOCK - sizeof(void *));
  if (--s->live == 0 && s->released)
    ft__slab_unmap(s);
}

void ft__slab_release(ft__slab *s) {
  if (!s)
    return;
  s->released = true;
  if (s->live == 0)
    ft__slab_unmap(s);
}

/* A copy of s in buf when it fits, else on the heap (ft__name_free). */
char *ft__name_dup(const char *s, char *buf, size_t cap) {
  size_t n = strlen(s);
  if (n >= cap)
    return strdup(s);
  memcpy(buf, s, n + 1);
  return buf;
}

void ft__name_free(char *name, const char *buf) {
  if (name != buf)
    free(name);
}

/* Append n bytes to b, growing it geometrically. */
int ft_buf_append(ft_buf *b, const void *p, size_t n) {
  if (b->cap - b->len < n && ft_buf_reserve(b, n) < 0)
    return -ENOMEM;
  if (n == 8) /* a task's usual result, without a call */
    memcpy(b->data + b->len, p, 8);
  else if (n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

/* Append a formatted string. */
int ft_buf_printf(ft_buf *b, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0)
    return FT_EINVAL;
  if ((size_t)n < sizeof small)
    return ft_buf_append(b, small, (size_t)n);
  char *big = malloc((size_t)n + 1);
  if (!big)
    return -ENOMEM;
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  int rc = ft_buf_append(b, big, (size_t)n);
  free(big);
  return rc;
}

/* Forget the contents, keep the memory. */
void ft_buf_reset(ft_buf *b) { b->len = 0; }

/* Release the memory. */
void ft_buf_free(ft_buf *b) {
  if (!b)
    return;
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* Monotonic time in nanoseconds. */
uint64_t ft_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * FT_NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Online CPUs, at least 1. */
int ft_cpu_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

/* Zeroed memory for a record.  malloc and memset, not calloc: glibc's
 * calloc skips the per-thread cache and works on the arena itself, whose
 * pages are written on every call; after each fork those are
 * copy-on-write faults (two per Process start, measured), where the
 * cache's one page is shared by all small sizes. */
void *ft__xalloc(size_t n) {
  if (n >= FT__BIG_ALLOC) /* fresh pages from the kernel, zero until touched */
    return calloc(1, n);
  void *p = malloc(n ? n : 1);
  if (p)
    memset(p, 0, n);
  return p;
}

/* Zeroed memory a fork does not copy (MADV_DONTFORK): for what only this
 * process reads, sized by a count of children.  A fork copies the page
 * table entries of every private page written, so arrays of one entry per
 * worker made each of a pool's forks cost in proportion to the pool, and
 * the start of n workers n^2.  Freed with ft__xfree_nofork(p, n). */
void *ft__xalloc_nofork(size_t n) {
  void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  madvise(p, n ? n : 1, MADV_DONTFORK);
  return p;
}

void ft__xfree_nofork(void *p, size_t n) {
  if (p)
    munmap(p, n ? n : 1);
}

char *ft__strdup(const char *s) { return s ? strdup(s) : NULL; }

void ft__set_cloexec_nonblock(int fd, bool nonblock) {
  int fl = fcntl(fd, F_GETFD);
  if (fl >= 0)
    fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
  if (nonblock) {
    fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
      fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  }
}

int ft__pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int ft__pidfd_signal(int pidfd, int signo) {
  return (int)syscall(SYS_pidfd_send_signal, pidfd, signo, NULL, 0);
}

/* Open /proc/PID/NAME (PID 0: /proc/self/NAME); the fd or -errno. */
static int ft__proc_open(pid_t pid, const char *name) {
  char path[64];
  int n = pid ? snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name)
              : snprintf(path, sizeof path, "/proc/self/%s", name);
  if (n < 0 || (size_t)n >= sizeof path)
    return -ENAMETOOLONG;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

/* Read fd into buf from *len on, until EOF or *len is room; 0, or the
 * -errno of a failed read (what came before it is kept). */
static int ft__read_upto(int fd, char *buf, size_t room, size_t *len) {
  while (*len < room) {
    ssize_t r = read(fd, buf + *len, room - *len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return r < 0 ? -errno : 0;
    *len += (size_t)r;
  }
  return 0;
}

/* Read a /proc file into buf (see ft_internal.h). */
int ft__read_proc_file(pid_t pid, const char *name, char *buf, size_t cap, size_t *len) {
  *len = 0;
  buf[0] = '\0';
  int fd = ft__proc_open(pid, name);
  if (fd < 0)
    return fd;
  int rc = ft__read_upto(fd, buf, cap - 1, len);
  if (rc == 0 && *len == cap - 1) {
    char more;
    size_t extra = 0;
    if (ft__read_upto(fd, &more, 1, &extra) == 0 && extra == 1)
      rc = -EFBIG;
  }
  close(fd);
  buf[*len] = '\0';
  return rc;
}

#define FT__PROC_GROW_FIRST 65536 /* ft__read_proc_grow's first buffer */

/* Read a /proc file whole into a growing buffer (see ft_internal.h). */
int ft__read_proc_grow(pid_t pid, const char *name, char **buf, size_t *cap, size_t max,
                       size_t *len) {
  *len = 0;
  int fd = ft__proc_open(pid, name);
  if (fd < 0)
    return fd;
  int rc = 0;
  for (;;) {
    if (*len == *cap) {
      size_t ncap = *cap ? *cap * 2 : FT__PROC_GROW_FIRST;
      char *nb = ncap <= max ? realloc(*buf, ncap) : NULL;
      if (!nb) {
        rc = ncap <= max ? -ENOMEM : -EFBIG;
        break;
      }
      *buf = nb;
      *cap = ncap;
    }
    if ((rc = ft__read_upto(fd, *buf, *cap, len)) < 0 || *len < *cap)
      break; /* a failed read, or EOF */
  }
  close(fd);
  return rc;
}

/* A process's name, without the newline /proc puts after it. */
void ft__read_comm(pid_t pid, char *buf, size_t cap) {
  size_t n;
  ft__read_proc_file(pid, "comm", buf, cap, &n);
  if (n > 0 && buf[n - 1] == '\n')
    buf[n - 1] = '\0';
}

/* The argv area, where the kernel reads /proc/PID/cmdline from: a forked
 * child has its own copy at the same address, and overwrites it with its
 * title (ft_child.c).  Read once per loop, at its first forked function. */
void ft__title_area(ft_loop *loop) {
  loop->title_known = true;
  loop->title_cap = 0;
  char buf[1024];
  size_t n;
  ft__read_proc_file(0, "stat", buf, sizeof buf, &n);
  if (n == 0)
    return;
  char *p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
  unsigned long long start = 0, end = 0;
  /* after ") ": field 3 (state) onwards; arg_start is field 48, arg_end 49 */
  for (int field = 3; p && *p && field <= 49; field++) {
    p = strchr(p + 1, ' ');
    if (!p)
      return;
    if (field == 48)
      start = strtoull(p + 1, NULL, 10);
    else if (field == 49)
      end = strtoull(p + 1, NULL, 10);
  }
  /* Only when argv[0] is where the kernel says the area starts: under an
   * emulator (valgrind) the area is the host's, not this program's. */
  if (!start || end < start + 2 || end - start > (1u << 20) ||
      (uintptr_t)program_invocation_name != (uintptr_t)start)
    return;
  loop->title_at = (char *)(uintptr_t)start;
  loop->title_cap = (size_t)(end - start);
  snprintf(loop->title_prog, sizeof loop->title_prog, "%s", program_invocation_short_name);
}

/* A process's command line, as ps reads it.  It is read when asked, not
 * when the process was born: by then it may have exec'd again (its newer
 * command line is read), exited (none), or rewritten its own argv area as
 * setproctitle does (what it wrote is read, one string or several). */
const char *const *ft__read_argv(pid_t pid, char *buf, const char **vec, bool *cut) {
  size_t n;
  *cut = ft__read_proc_file(pid, "cmdline", buf, FT__ARGV_BYTES, &n) == -EFBIG;
  if (n == 0)
    return NULL;
  if (buf[n - 1] == '\0')
    n--; /* the last argument's own NUL */
  size_t k = 0;
  for (size_t at = 0; at <= n && k < FT__ARGV_MAX; at += strlen(buf + at) + 1)
    vec[k++] = buf + at;
  if (k == FT__ARGV_MAX && strlen(vec[k - 1]) + (size_t)(vec[k - 1] - buf) < n)
    *cut = true;
  vec[k] = NULL;
  return vec;
}

/* Deadline in CLOCK_MONOTONIC ns for a timeout in seconds; 0 means never. */
uint64_t ft__deadline(double timeout) {
  if (timeout < 0)
    return 0;
  uint64_t d = ft_now_ns() + (uint64_t)(timeout * 1e9);
  return d ? d : 1;
}

/* Wait on a process-shared futex word.  Returns 0 when woken (or the value
 * had already changed), FT_ETIMEDOUT at the deadline. */
int ft__futex_wait(_Atomic uint32_t *addr, uint32_t val, uint64_t deadline) {
  struct timespec ts, *tsp = NULL;
  if (deadline) {
    ts.tv_sec = (time_t)(deadline / FT_NS_PER_S);
    ts.tv_nsec = (long)(deadline % FT_NS_PER_S);
    tsp = &ts;
  }
  /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline. */
  long rc = syscall(SYS_futex, addr, FUTEX_WAIT_BITSET, val, tsp, NULL, FUTEX_BITSET_MATCH_ANY);
  if (rc < 0 && errno == ETIMEDOUT)
    return FT_ETIMEDOUT;
  return 0;
}

void ft__futex_wake(_Atomic uint32_t *addr, int n) {
  syscall(SYS_futex, addr, FUTEX_WAKE, n, NULL, NULL, 0);
}

/* Large buffers (a map's arguments and outcomes) come from mmap with
 * transparent huge pages asked for: first touching 4 KiB pages costs a
 * fault each, and a map of millions of items would spend most of its time
 * there.  A huge page only backs a 2 MiB-aligned stretch, so the mapping
 * is made 2 MiB larger, trimmed to start on a boundary, and rounded up to
 * whole huge pages (measured: a 200,000-item map took ~800 faults with an
 * unaligned mapping, 4 aligned).  Small ones come from malloc.  Both are
 * zeroed. */
#define FT__BIG (2u << 20)
#define FT__HUGE ((size_t)2 << 20)

static size_t ft__big_len(size_t n) { return (n + FT__HUGE - 1) & ~(FT__HUGE - 1); }

void *ft__big_alloc(size_t n) {
  if (n < FT__BIG)
    return calloc(1, n ? n : 1);
  size_t len = ft__big_len(n);
  char *m = mmap(NULL, len + FT__HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED)
    return NULL;
  char *p = (char *)(((uintptr_t)m + FT__HUGE - 1) & ~(uintptr_t)(FT__HUGE - 1));
  if (p > m)
    munmap(m, (size_t)(p - m));
  if (m + FT__HUGE > p)
    munmap(p + len, (size_t)(m + FT__HUGE - p));
  madvise(p, len, MADV_HUGEPAGE);
  return p;
}

void ft__big_free(void *p, size_t n) {
  if (!p)
    return;
  if (n < FT__BIG)
    free(p);
  else
    munmap(p, ft__big_len(n));
}

/* One freed large buffer kept for the next ft__big_alloc_dirty (the
 * outcomes of a map, which are written before they are read).  A fresh
 * one costs its pages' clearing: a huge page is 0.2 ms here, three of
 * them for a 200,000-item map, a fifth of the parent's time in it.  While
 * kept it is MADV_DONTFORK, so a fork meanwhile (a pool's workers) neither
 * copies it nor write-protects it (a later write would be a copy-on-write
 * fault on every page); it forks again once handed out.  Its length sits
 * in its first word while it is kept.  One for the process, taken and put
 * back with atomic exchanges, so loops in several threads may share it. */
#define FT__SPARE_MAX ((size_t)64 << 20)
static _Atomic(void *) ft__spare;

void *ft__big_alloc_dirty(size_t n) {
  if (n < FT__BIG)
    return malloc(n ? n : 1);
  size_t len = ft__big_len(n);
  void *p = atomic_exchange(&ft__spare, NULL);
  if (p) {
    size_t have;
    memcpy(&have, p, sizeof have);
    if (have == len && madvise(p, len, MADV_DOFORK) == 0)
      return p;
    munmap(p, have);
  }
  return ft__big_alloc(n);
}

void ft__big_free_dirty(void *p, size_t n) {
  if (!p)
    return;
  size_t len = ft__big_len(n);
  if (n < FT__BIG || len > FT__SPARE_MAX || madvise(p, len, MADV_DONTFORK) < 0) {
    ft__big_free(p, n);
    return;
  }
  memcpy(p, &len, sizeof len);
  void *old = atomic_exchange(&ft__spare, p);
  if (old) {
    size_t have;
    memcpy(&have, old, sizeof have);
    munmap(old, have);
  }
}

static const struct {
  int signo;
  const char *name;
} ft__signals[] = {
    {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},       {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
    {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},     {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
    {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"},     {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
    {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"},     {SIGTERM, "SIGTERM"}, {SIGSTKFLT, "SIGSTKFLT"},
    {SIGCHLD, "SIGCHLD"}, {SIGCONT, "SIGCONT"},     {SIGSTOP, "SIGSTOP"}, {SIGTSTP, "SIGTSTP"},
    {SIGTTIN, "SIGTTIN"}, {SIGTTOU, "SIGTTOU"},     {SIGURG, "SIGURG"},   {SIGXCPU, "SIGXCPU"},
    {SIGXFSZ, "SIGXFSZ"}, {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"}, {SIGWINCH, "SIGWINCH"},
    {SIGIO, "SIGIO"},     {SIGPWR, "SIGPWR"},       {SIGSYS, "SIGSYS"},
};

/* "SIGKILL" for 9; "SIG?" for a number with no name. */
const char *ft_signal_name(int signo) {
  for (size_t i = 0; i < FT_ARRAY_LEN(ft__signals); i++)
    if (ft__signals[i].signo == signo)
      return ft__signals[i].name;
  return "SIG?";
}

/* "SIGKILL", "KILL", "sigkill" or "9" -> 9. */
int ft_parse_signal(const char *s, int *out) {
  if (!s || !*s)
    return FT_EINVAL;
  char *end;
  long v = strtol(s, &end, 10);
  if (*end == '\0') {
    if (v <= 0 || v >= 65)
      return FT_EINVAL;
    *out = (int)v;
    return 0;
  }
  const char *bare = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
  for (size_t i = 0; i < FT_ARRAY_LEN(ft__signals); i++)
    if (strcasecmp(bare, ft__signals[i].name + 3) == 0) {
      *out = ft__signals[i].signo;
      return 0;
    }
  return FT_EINVAL;
}

/* ------------------------------------------------------------ pid index */

static size_t ft__pidx_home(const ft__pidx *x, pid_t pid) {
  uint64_t k = (uint32_t)pid * 0x9E3779B97F4A7C15ull;
  return (size_t)(k >> 20) & (x->cap - 1);
}

static int ft__pidx_grow(ft__pidx *x) {
  size_t cap = x->cap ? x->cap * 2 : 64;
  ft__pidx_slot *t = calloc(cap, sizeof *t), *old = x->t;
  if (!t)
    return -ENOMEM;
  size_t oldcap = x->cap;
  x->t = t;
  x->cap = cap;
  for (size_t i = 0; i < oldcap; i++)
    if (old[i].pid > 0) {
      size_t h = ft__pidx_home(x, old[i].pid);
      while (t[h].pid > 0)
        h = (h + 1) & (cap - 1);
      t[h] = old[i];
    }
  free(old);
  return 0;
}

/* Map pid (> 0) to idx, in place of what it mapped to; 0 or -ENOMEM. */
int ft__pidx_put(ft__pidx *x, pid_t pid, int32_t idx) {
  if (2 * (x->n + 1) > x->cap && ft__pidx_grow(x) < 0)
    return -ENOMEM;
  size_t h = ft__pidx_home(x, pid);
  while (x->t[h].pid > 0 && x->t[h].pid != pid)
    h = (h + 1) & (x->cap - 1);
  x->n += x->t[h].pid != pid;
  x->t[h] = (ft__pidx_slot){pid, idx};
  return 0;
}

/* What pid maps to, or -1. */
int32_t ft__pidx_get(const ft__pidx *x, pid_t pid) {
  if (!x->cap || pid <= 0)
    return -1;
  for (size_t h = ft__pidx_home(x, pid);; h = (h + 1) & (x->cap - 1)) {
    if (x->t[h].pid == pid)
      return x->t[h].idx;
    if (x->t[h].pid <= 0)
      return -1;
  }
}

/* Forget pid (linear probing's backward shift: no tombstones). */
void ft__pidx_del(ft__pidx *x, pid_t pid) {
  if (!x->cap || pid <= 0)
    return;
  size_t h = ft__pidx_home(x, pid);
  while (x->t[h].pid != pid) {
    if (x->t[h].pid <= 0)
      return;
    h = (h + 1) & (x->cap - 1);
  }
  x->n--;
  for (size_t j = (h + 1) & (x->cap - 1); x->t[j].pid > 0; j = (j + 1) & (x->cap - 1)) {
    size_t home = ft__pidx_home(x, x->t[j].pid);
    /* j's entry may move to the hole at h if its home is not in (h, j] */
    if ((j > h && (home <= h || home > j)) || (j < h && home <= h && home > j)) {
      x->t[h] = x->t[j];
      h = j;
    }
  }
  x->t[h] = (ft__pidx_slot){0, 0};
}

void ft__pidx_free(ft__pidx *x) {
  free(x->t);
  *x = (ft__pidx){0};
}
