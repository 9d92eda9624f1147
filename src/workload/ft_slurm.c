/* ft_slurm.c - a Slurm allocation for a pool with hosts = slurm:N, held by
 * a process of its own that releases it however forktop ends.
 *
 * `salloc --no-shell` makes the allocation and returns; nothing in Slurm
 * then ties it to us.  So a holder process (sh running the script below)
 * makes it, reports the job id and its nodes on a pipe, then waits for EOF
 * on another pipe whose write end only forktop holds (O_CLOEXEC): EOF
 * comes when forktop releases it (ft__slurm_free) or dies, SIGKILL
 * included, and the holder then runs `scancel` (SIGKILL to every step
 * first: what is left of the work is ours to end, not to wait for through
 * the cluster's KillWait), waits until `squeue -j J` is empty (at most
 * 5 s), says "released" and exits.
 *
 * The holder must outlive a forktop that was SIGKILLed, by the time
 * scancel takes, and that is all it does.  Everything else a run starts is
 * killed by the run's guardian (ft_guard.c) once forktop is gone: through
 * the run's cgroup and the FORKTOP_GUARD environment tag.  So the holder is
 * a grandchild made orphan at once (double fork, new session: the
 * terminal's Ctrl-C never reaches it, forktop never reaps it), runs without
 * the tag, and moves itself from the run's cgroup (forktop-PID) to the one
 * above it, where the guardian lives. */
#include "ft_runner_int.h"
#include "ft_workload.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FT__SLURM_ALLOC_MS 120000 /* the longest salloc may take */
#define FT__SLURM_FREE_MS 6000    /* the longest the holder may take to scancel */

extern char **environ;

/* No pipelines: a pipeline's member may outlive the shell that waits for
 * another, and then it is an orphan of ours (forktop is a subreaper) that
 * nobody reaps while forktop waits here for the allocation. */
static const char ft__slurm_script[] =
    "trap '' INT HUP TERM QUIT PIPE\n"
    "echo \"pid $$\"\n"
    "n=$1; shift\n"
    "out=$(salloc --no-shell -N \"$n\" \"$@\" 2>&1 </dev/null)\n"
    "case $out in\n"
    "*'Granted job allocation '[0-9]*) ;;\n"
    "*) printf 'error %s\\n' \"$out\"; exit 1 ;;\n"
    "esac\n"
    "job=${out##*Granted job allocation }\n"
    "job=${job%%[!0-9]*}\n"
    "echo \"job $job\"\n"
    "for h in $(scontrol show hostnames \"$(squeue -h -j \"$job\" -o %N)\"); do\n"
    "  a=$(scontrol show node -o \"$h\")\n"
    "  case $a in *' NodeAddr='*) a=${a#* NodeAddr=}; a=${a%% *} ;; *) a=$h ;; esac\n"
    "  echo \"node $h $a\"\n"
    "done\n"
    "echo ready\n"
    "cat >/dev/null\n"
    "scancel --signal=KILL \"$job\" >/dev/null 2>&1\n"
    "scancel \"$job\" >/dev/null 2>&1\n"
    "i=0\n"
    "while [ $i -lt 50 ] && [ -n \"$(squeue -h -j \"$job\" -t PD,CF,R,S,CG -o %i 2>/dev/null)\" ]; "
    "do\n"
    "  sleep 0.1; i=$((i + 1))\n"
    "done\n"
    "echo released\n";

struct ft__slurm {
  int ctl;   /* the holder's stdin: closing it releases the allocation */
  int from;  /* the holder's stdout */
  pid_t pid; /* the holder (ours to reap when we are a subreaper), or 0 */
  bool gone; /* its stdout reached EOF: it has released the allocation */
  char job[32];
  char **nodes, **addrs; /* NULL-terminated */
  size_t nnodes;
  char bind[INET_ADDRSTRLEN];
};

/* In the holder, before exec: leave the run's cgroup for the one above it
 * (see the top of the file).  Async-signal-safe calls only. */
static void ft__slurm_leave_cgroup(void) {
  static char buf[4096];
  char mnt[256] = "", path[1024], *cg = NULL;
  int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0)
    close(fd);
  if (n <= 0)
    return;
  buf[n] = '\0';
  /* the cgroup v2 line, "0::PATH", wherever it is (hybrid hierarchies) */
  for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
    if (strncmp(line, "0::", 3) == 0) {
      cg = line;
      break;
    }
  if (!cg)
    return;
  char *nl = strchr(cg, '\n'), *slash;
  if (nl)
    *nl = '\0';
  if (!(slash = strrchr(cg + 3, '/')) || strncmp(slash + 1, "forktop-", 8) != 0)
    return;
  *slash = '\0';
  /* where cgroup2 is mounted: a line of mountinfo with " - cgroup2 " */
  static char mi[16384];
  fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  n = fd >= 0 ? read(fd, mi, sizeof mi - 1) : -1;
  if (fd >= 0)
    close(fd);
  if (n <= 0)
    return;
  mi[n] = '\0';
  for (char *line = mi; line && *line;) {
    char *end = strchr(line, '\n');
    if (end)
      *end = '\0';
    char *m = strstr(line, " - cgroup2 ");
    if (m) {
      char *p = line;
      for (int f = 0; f < 4 && p; f++) /* the fifth field is the mount point */
        if ((p = strchr(p, ' ')))
          p++;
      char *e = p ? strchr(p, ' ') : NULL;
      if (e && (size_t)(e - p) < sizeof mnt) {
        memcpy(mnt, p, (size_t)(e - p));
        mnt[e - p] = '\0';
        break;
      }
    }
    line = end ? end + 1 : NULL;
  }
  if (!mnt[0] ||
      (size_t)snprintf(path, sizeof path, "%s%s/cgroup.procs", mnt, cg + 3) >= sizeof path)
    return;
  if ((fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0) {
    if (write(fd, "0\n", 2) < 0) { /* stays in the run's cgroup: only the tag is gone */
    }
    close(fd);
  }
}

/* Read lines from fd until "ready" (or an error line, or EOF), within ms. */
static int ft__slurm_read_lines(int fd, ft_buf *got, const char *until, int ms) {
  uint64_t end = ft_now_ns() + (uint64_t)ms * 1000000;
  for (;;) {
    if (got->len && memmem(got->data, got->len, until, strlen(until)))
      return 0;
    uint64_t now = ft_now_ns();
    if (now >= end)
      return FT_ETIMEDOUT;
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, (int)((end - now) / 1000000) + 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      continue;
    if (ft_buf_reserve(got, 4096) < 0)
      return -ENOMEM;
    ssize_t k = read(fd, got->data + got->len, got->cap - got->len - 1);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return FT_EFAILED; /* the holder ended first */
    got->len += (size_t)k;
    got->data[got->len] = '\0';
  }
}

/* The local address the kernel would use to reach addr (a UDP connect
 * sends nothing). */
static int ft__slurm_route(const char *addr, char *out, size_t n) {
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM}, *ai = NULL;
  if (getaddrinfo(addr, "6818", &hints, &ai) != 0 || !ai)
    return FT_EINVAL;
  int rc = FT_EINVAL, fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
      getsockname(fd, (struct sockaddr *)&sa, &sl) == 0 &&
      inet_ntop(AF_INET, &sa.sin_addr, out, (socklen_t)n))
    rc = 0;
  if (fd >= 0)
    close(fd);
  freeaddrinfo(ai);
  return rc;
}

/* The holder: forked twice, in its own session, out of the guard's reach;
 * stdin is ctl's read end, stdout the report pipe. */
static void ft__slurm_holder(int in, int out, int nodes, char *const *args) {
  char n[16];
  char *argv[96];
  size_t k = 0;
  snprintf(n, sizeof n, "%d", nodes);
  argv[k++] = "sh";
  argv[k++] = "-c";
  argv[k++] = (char *)ft__slurm_script;
  argv[k++] = "forktop-slurm-holder";
  argv[k++] = n;
  for (size_t i = 0; args && args[i] && k + 1 < FT_ARRAY_LEN(argv); i++)
    argv[k++] = args[i];
  argv[k] = NULL;
  setsid();
  if (dup2(in, 0) < 0 || dup2(out, 1) < 0)
    _exit(127);
  int null = open("/dev/null", O_WRONLY);
  if (null >= 0)
    dup2(null, 2);
  close_range(3, ~0u, 0);
  ft__slurm_leave_cgroup();
  /* without the guard's tag: the guardian must not kill the holder */
  static char *envp[256];
  size_t e = 0;
  for (size_t i = 0; environ[i] && e + 1 < FT_ARRAY_LEN(envp); i++)
    if (strncmp(environ[i], "FORKTOP_GUARD=", 14) != 0)
      envp[e++] = environ[i];
  envp[e] = NULL;
  execve("/bin/sh", argv, envp);
  _exit(127);
}

/* Make an allocation of nodes nodes (salloc args added), held until
 * ft__slurm_free or our death.  On failure err says why (salloc's last
 * message).  0 or an error. */
int ft__slurm_new(int nodes, char *const *args, ft__slurm **out, ft_buf *err) {
  int ctl[2] = {-1, -1}, rep[2] = {-1, -1}, rc;
  ft_buf got = {0};
  ft__slurm *s = calloc(1, sizeof *s);
  *out = NULL;
  if (!s)
    return -ENOMEM;
  s->ctl = s->from = -1;
  if (pipe2(ctl, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
    rc = -errno;
    goto fail;
  }
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  pid_t mid = fork();
  if (mid == 0) {
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < NSIG; sig++)
      sigaction(sig, &dfl, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (fork() == 0)
      ft__slurm_holder(ctl[0], rep[1], nodes, args);
    _exit(0);
  }
  rc = mid < 0 ? -errno : 0;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (mid > 0)
    while (waitpid(mid, NULL, 0) < 0 && errno == EINTR) {
    }
  close(ctl[0]);
  close(rep[1]);
  ctl[0] = rep[1] = -1;
  s->ctl = ctl[1];
  s->from = rep[0];
  if (rc < 0)
    goto fail;
  rc = ft__slurm_read_lines(s->from, &got, "\nready\n", FT__SLURM_ALLOC_MS);
  char *line = got.data;
  for (; line && *line && rc == 0;) {
    char *end = strchr(line, '\n'), a[256], b[256];
    if (!end)
      break;
    *end = '\0';
    int pid;
    if (sscanf(line, "pid %d", &pid) == 1) {
      s->pid = pid;
    } else if (sscanf(line, "job %31s", s->job) == 1) {
    } else if (sscanf(line, "node %255s %255s", a, b) == 2) {
      char **nn = realloc(s->nodes, (s->nnodes + 2) * sizeof *nn);
      char **na = nn ? realloc(s->addrs, (s->nnodes + 2) * sizeof *na) : NULL;
      if (nn)
        s->nodes = nn;
      if (na)
        s->addrs = na;
      if (!nn || !na || !(s->nodes[s->nnodes] = strdup(a)) || !(s->addrs[s->nnodes] = strdup(b)))
        rc = -ENOMEM;
      else
        s->nnodes++;
      s->nodes[s->nnodes] = s->addrs[s->nnodes] = NULL;
    }
    line = end + 1;
  }
  if (rc == FT_EFAILED || rc == FT_ETIMEDOUT) {
    /* salloc's last message line (its output follows "error ") */
    const char *e = got.data ? strstr(got.data, "error ") : NULL, *last = NULL;
    for (const char *l = e ? e + 6 : NULL; l && *l;
         l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
      if (*l != '\n' && strncmp(l, "salloc: Pending", 15) != 0)
        last = l;
    if (last)
      ft_buf_printf(err, "allocate Slurm nodes (%.*s)", (int)strcspn(last, "\n"), last);
    else
      ft_buf_printf(err, "allocate Slurm nodes (salloc %s)",
                    rc == FT_ETIMEDOUT ? "took too long" : "failed");
  }
  if (rc == 0 && (!s->job[0] || !s->nnodes)) {
    ft_buf_printf(err, "allocate Slurm nodes (no job id or no nodes)");
    rc = FT_EFAILED;
  }
  if (rc == 0 && ft__slurm_route(s->addrs[0], s->bind, sizeof s->bind) < 0) {
    ft_buf_printf(err, "find the address that routes to node %s (%s)", s->nodes[0], s->addrs[0]);
    rc = FT_EINVAL;
  }
  ft_buf_free(&got);
  if (rc < 0)
    goto fail;
  *out = s;
  return 0;

fail:
  ft_buf_free(&got);
  if (ctl[0] >= 0)
    close(ctl[0]);
  if (rep[1] >= 0)
    close(rep[1]);
  ft__slurm_free(s);
  return rc;
}

/* Start releasing the allocation: the holder runs scancel, on its own
 * (nothing here waits: the loop goes on reaping).  NULL is a no-op. */
void ft__slurm_release(ft__slurm *s) {
  if (s && s->ctl >= 0) {
    close(s->ctl);
    s->ctl = -1;
  }
}

/* Whether the holder has released the allocation and gone (EOF on its
 * stdout), without waiting. */
bool ft__slurm_gone(ft__slurm *s) {
  char b[256];
  while (s && !s->gone && s->from >= 0) {
    struct pollfd p = {s->from, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0)
      break;
    ssize_t k = read(s->from, b, sizeof b);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      s->gone = true;
  }
  return !s || s->gone;
}

/* Release the allocation and wait until the holder says it is released
 * (at most a few seconds).  NULL is a no-op. */
void ft__slurm_free(ft__slurm *s) {
  if (!s)
    return;
  ft__slurm_release(s);
  if (s->from >= 0 && !s->gone) {
    ft_buf got = {0};
    ft__slurm_read_lines(s->from, &got, "released", FT__SLURM_FREE_MS);
    ft_buf_free(&got);
  }
  if (s->from >= 0)
    close(s->from);
  /* The holder was orphaned at once; as a subreaper we are its parent now
   * and, the loop being done with, must reap it here (ECHILD when the loop
   * did, or when it went to init).  It exits right after "released". */
  for (int i = 0; s->pid > 0 && i < 200; i++) {
    pid_t r = waitpid(s->pid, NULL, WNOHANG);
    if (r != 0 && !(r < 0 && errno == EINTR))
      break;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  for (size_t i = 0; i < s->nnodes; i++) {
    free(s->nodes[i]);
    free(s->addrs[i]);
  }
  free(s->nodes);
  free(s->addrs);
  free(s);
}

/* The allocation's job id. */
const char *ft__slurm_job(const ft__slurm *s) { return s->job; }
/* Its nodes' names, NULL-terminated. */
char *const *ft__slurm_nodes(const ft__slurm *s) { return s->nodes; }
/* The local address that routes to its nodes (what workers connect to). */
const char *ft__slurm_bind(const ft__slurm *s) { return s->bind; }
/* Their addresses (NodeAddr), in the same order. */
char *const *ft__slurm_addrs(const ft__slurm *s) { return s->addrs; }
