/* ft_runner_steps.c - the built-in task kinds of workload files, run inside a
 * forked worker or process: sleep, cpu, alloc, print, exec, fail, crash,
 * leak, put, get, relay. */
#include "ft_runner_int.h"

#include <spawn.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* The first line of a small file (a /proc or /sys value) into buf, or "". */
static void ft__read_value(const char *path, char *buf, size_t n) {
  FILE *f = fopen(path, "re");
  buf[0] = '\0';
  if (!f)
    return;
  if (!fgets(buf, (int)n, f))
    buf[0] = '\0';
  buf[strcspn(buf, "\n")] = '\0';
  fclose(f);
}

/* The pids.max of the cgroup forktop runs in (cgroup v2), or "". */
static void ft__cgroup_pids_max(char *buf, size_t n) {
  char line[512], path[600];
  ft__read_value("/proc/self/cgroup", line, sizeof line); /* "0::/some/path" */
  buf[0] = '\0';
  if (strncmp(line, "0::", 3) != 0)
    return;
  snprintf(path, sizeof path, "/sys/fs/cgroup%s/pids.max", line + 3);
  ft__read_value(path, buf, n);
}

/* Which limit an error from starting processes stands for, with its value,
 * said as a user can act on it: "open-file limit 64 (ulimit -n)", "process
 * limit 100 (ulimit -u)", "the cgroup's process limit 500 (pids.max)";
 * anything else is its strerror text. */
void ft__limit_cause(int err, char *buf, size_t n) {
  struct rlimit rl;
  char v[64], w[64];
  switch (err < 0 ? -err : err) {
  case EMFILE:
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
      snprintf(buf, n, "open-file limit %llu (ulimit -n)", (unsigned long long)rl.rlim_cur);
      return;
    }
    break;
  case ENFILE:
    ft__read_value("/proc/sys/fs/file-max", v, sizeof v);
    snprintf(buf, n, "the system's open-file limit %s (fs.file-max)", v[0] ? v : "");
    return;
  case EAGAIN: /* fork: RLIMIT_NPROC (root is exempt), a cgroup, or the kernel's tables */
    if (geteuid() != 0 && getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
      snprintf(buf, n, "process limit %llu (ulimit -u)", (unsigned long long)rl.rlim_cur);
      return;
    }
    ft__cgroup_pids_max(v, sizeof v);
    if (v[0] && strcmp(v, "max") != 0) {
      snprintf(buf, n, "the cgroup's process limit %s (pids.max)", v);
      return;
    }
    ft__read_value("/proc/sys/kernel/threads-max", v, sizeof v);
    ft__read_value("/proc/sys/kernel/pid_max", w, sizeof w);
    snprintf(buf, n, "the system's process limit (kernel.threads-max %s, kernel.pid_max %s)", v, w);
    return;
  case ENOMEM:
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
      snprintf(buf, n, "out of memory: address-space limit %llu MiB (ulimit -v)",
               (unsigned long long)(rl.rlim_cur >> 20));
      return;
    }
    snprintf(buf, n, "out of memory");
    return;
  default:
    break;
  }
  snprintf(buf, n, "%s", ft_strerror(err));
}

/* splitmix64: small, fast, and good enough for sleep ranges and N% steps. */
uint64_t ft__rand_next(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double ft__rand_unit(uint64_t *state) {
  return (double)(ft__rand_next(state) >> 11) / 9007199254740992.0;
}

static void ft__sleep_s(double s) {
  if (s <= 0)
    return;
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

/* Fixed work, not fixed time: n rounds of a 64-bit mix, so that twice the
 * workers finish the same work in half the time when there are cores. */
static uint64_t ft__cpu_work(uint64_t n) {
  uint64_t x = 0x12345678;
  for (uint64_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

/* Write one byte in every page through a volatile pointer: a memset of
 * memory that is freed unread is dead code the compiler may drop, and then
 * the pages are never faulted in and RSS does not grow. */
static void ft__touch(char *m, uint64_t n) {
  long page = sysconf(_SC_PAGESIZE);
  volatile char *v = m;
  if (page <= 0)
    page = 4096;
  for (uint64_t k = 0; k < n; k += (uint64_t)page)
    v[k] = 1;
  if (n)
    v[n - 1] = 1;
}

/* text with "{}" replaced by item, "{#}" by seq, "{pid}" and "{ppid}" by
 * this process's. */
static char *ft__subst(const char *text, const char *item, uint64_t seq) {
  char *t;
  return ft_plan_subst(text, item, seq, false, &t) < 0 ? NULL : t;
}

/* Run argv (with {} replaced) and wait: 0, its exit code, or 128+signal;
 * a program that cannot start is an error with its errno. */
static int ft__step_exec(const ft_step *s, const char *item, uint64_t seq, ft_buf *out) {
  char **argv;
  int rc;
  if (ft_plan_exec_argv(s->argv, item, seq, &argv) < 0)
    return 70;
  pid_t pid;
  int err = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
  if (err) {
    ft_buf_printf(out, "exec %s: %s", argv[0], strerror(err));
    /* said on the worker's stderr too: captured, it is in the output pane
     * and the stream next to the failed task */
    fprintf(stderr, "forktop: exec %s: %s\n", argv[0], strerror(err));
    fflush(stderr);
    rc = 127;
    goto done;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (rc)
    ft_buf_printf(out, "%s exited with %d", argv[0], rc);
done:
  ft_plan_argv_free(argv);
  return rc < 0 ? 70 : rc;
}

static int ft__put(ft_queue *q, const char *data, size_t len, ft_buf *out) {
  int rc = ft_queue_put(q, data, len, -1);
  if (rc < 0) {
    ft_buf_printf(out, "put on %s: %s", ft_queue_name(q), ft_strerror(rc));
    return 1;
  }
  return 0;
}

static int ft__step_put(ft_runner *r, const ft_step *s, const char *item, uint64_t seq,
                        ft_buf *out) {
  ft_queue *q = r->queues[s->queue];
  if (s->values) {
    for (size_t i = 0; s->values[i]; i++) {
      if (i)
        ft__sleep_s(s->d_min);
      char *v = ft__subst(s->values[i], item, seq);
      int rc = v ? ft__put(q, v, strlen(v), out) : 70;
      free(v);
      if (rc)
        return rc;
    }
    return 0;
  }
  size_t size = s->size ? s->size : strlen(item);
  char *buf = malloc(size ? size : 1);
  if (!buf)
    return 70;
  for (size_t k = 0; k < size; k++)
    buf[k] = s->size ? (char)('a' + k % 26) : item[k];
  int rc = 0;
  for (uint64_t i = 0; i < s->n && !rc; i++) {
    if (i)
      ft__sleep_s(s->d_min);
    rc = ft__put(q, buf, size, out);
  }
  free(buf);
  return rc;
}

/* get (count items, or until the queue is closed) and relay. */
static int ft__step_get(ft_runner *r, const ft_step *s, ft_buf *out) {
  ft_queue *q = r->queues[s->queue];
  ft_queue *to = s->kind == FT_STEP_RELAY ? r->queues[s->queue2] : NULL;
  size_t cap = 65536;
  char *buf = malloc(cap);
  if (!buf)
    return 70;
  int rc = 0;
  for (uint64_t got = 0; !s->n || got < s->n; got++) {
    size_t len;
    int g = ft_queue_get(q, buf, cap, &len, -1);
    if (g == FT_E2BIG) {
      char *nb = realloc(buf, len);
      if (!nb) {
        rc = 70;
        break;
      }
      buf = nb;
      cap = len;
      got--;
      continue;
    }
    if (g == FT_ECLOSED)
      break;
    if (g < 0) {
      ft_buf_printf(out, "get from %s: %s", ft_queue_name(q), ft_strerror(g));
      rc = 1;
      break;
    }
    if (s->print) {
      printf("%.*s\n", (int)len, buf);
      fflush(stdout);
    }
    if (to && (rc = ft__put(to, buf, len, out)))
      break;
  }
  free(buf);
  return rc;
}

static void ft__step_leak(double seconds) {
  pid_t pid = fork();
  if (pid == 0) {
    ft__sleep_s(seconds);
    _exit(0);
  }
}

/* Run the steps for one item.  Returns 0, or the failing step's code with a
 * message in out; a crash step does not return. */
int ft__steps_run(ft_runner *r, const ft_step *steps, size_t n, const char *item, uint64_t seq,
                  uint64_t seed, ft_buf *out) {
  uint64_t rng = seed;
  for (size_t i = 0; i < n; i++) {
    const ft_step *s = &steps[i];
    if (s->prob < 1 && ft__rand_unit(&rng) >= s->prob)
      continue;
    switch (s->kind) {
    case FT_STEP_SLEEP:
      ft__sleep_s(s->d_max > s->d_min ? s->d_min + (s->d_max - s->d_min) * ft__rand_unit(&rng)
                                      : s->d_min);
      break;
    case FT_STEP_CPU: {
      volatile uint64_t sink = ft__cpu_work(s->n);
      (void)sink;
      break;
    }
    case FT_STEP_ALLOC: {
      char *m = malloc(s->n ? s->n : 1);
      if (!m) {
        ft_buf_printf(out, "alloc %llu bytes: out of memory", (unsigned long long)s->n);
        return 1;
      }
      ft__touch(m, s->n);
      ft__sleep_s(s->d_min);
      free(m);
      break;
    }
    case FT_STEP_PRINT: {
      char *t = ft__subst(s->text, item, seq);
      if (t) {
        printf("%s\n", t);
        fflush(stdout);
      }
      free(t);
      break;
    }
    case FT_STEP_EXEC: {
      int rc = ft__step_exec(s, item, seq, out);
      if (rc)
        return rc;
      break;
    }
    case FT_STEP_FAIL:
      ft_buf_printf(out, "failed on purpose with code %d", (int)s->n);
      return (int)s->n;
    case FT_STEP_CRASH: {
      sigset_t one;
      sigemptyset(&one);
      sigaddset(&one, (int)s->n);
      signal((int)s->n, SIG_DFL);
      sigprocmask(SIG_UNBLOCK, &one, NULL);
      raise((int)s->n); /* returns only if the signal does not end us */
      // cppcheck-suppress duplicateBreak ; raise() can return
      break;
    }
    case FT_STEP_LEAK:
      ft__step_leak(s->d_min);
      break;
    case FT_STEP_PUT: {
      int rc = ft__step_put(r, s, item, seq, out);
      if (rc)
        return rc;
      break;
    }
    case FT_STEP_GET:
    case FT_STEP_RELAY: {
      int rc = ft__step_get(r, s, out);
      if (rc)
        return rc;
      break;
    }
    }
  }
  return 0;
}
