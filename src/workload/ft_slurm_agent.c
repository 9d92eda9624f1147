/* ft_slurm_agent.c - the per-node agents of a Slurm allocation: one
 * `srun --overlap -N<nodes> --ntasks-per-node=1 forktop agent --job J`
 * step, whose tasks sample the job's processes on their nodes every 500 ms
 * (ui_agent.c) and print them, one line each, to the step's stdout, which
 * srun carries back to us through a pipe.  Each line becomes an event about
 * a process on that node's host: a `stat` sample, and for a process that is
 * not a pool worker (the pool tells of those) a `spawn` the first time and
 * an `exit` when it is gone.
 *
 * The lines come from other machines: each is length-checked and parsed
 * field by field, its node must be one of the allocation's, and a line
 * that is not exactly right is dropped.
 *
 * The step never outlives the allocation: we close its stdin when the
 * allocation is being released (the agents end at EOF, srun with them),
 * and scancel ends the step in any case.  If forktop dies, srun is spared
 * by the run's guard (ft__spawn_opts.spare): its stdin reaches EOF, the
 * agents end, and srun, alive, hears of it and ends its step at once;
 * killed with forktop, it would leave the step completing for 2.3 s while
 * each node's slurmstepd retried telling it.  The holder's scancel ends
 * it if the agents do not. */
#include "ft_runner_int.h"

#include "ft_guard.h"

#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>

extern char **environ;

#define FT__AGENT_LINE 256              /* the longest line an agent writes is well under */
#define FT__AGENT_LAST_NS 1000000000ull /* the longest we wait for its last round */

struct ft__slurm_agent {
  ft_loop *loop;
  ft__child *c;     /* srun, ours until ft__slurm_agent_free */
  ft__watch *w;     /* on its stdout */
  uint64_t stop_ns; /* when it was told to stop, or 0 */
  const ft__slurm *s;
  size_t len;
  bool skipping; /* an over-long line is being dropped */
  char line[FT__AGENT_LINE];
};

/* The allocation's node named node (its index), or -1. */
static int ft__agent_node(const ft__slurm *s, const char *node) {
  char *const *nodes = ft__slurm_nodes(s);
  for (int i = 0; nodes && nodes[i]; i++)
    if (strcmp(nodes[i], node) == 0)
      return i;
  return -1;
}

/* Parse a decimal field in [0, max]; false if it is not one. */
static bool ft__agent_num(const char *f, unsigned long long max, unsigned long long *out) {
  if (!f || !*f || strspn(f, "0123456789") != strlen(f) || strlen(f) > 19)
    return false;
  *out = strtoull(f, NULL, 10);
  return *out <= max;
}

/* One line from the agents (NUL-terminated, without its newline). */
static void ft__agent_line(ft__slurm_agent *a, char *line) {
  char *f[12], *save = NULL;
  int n = 0;
  for (char *t = strtok_r(line, " ", &save); t && n < 12; t = strtok_r(NULL, " ", &save))
    f[n++] = t;
  bool sample = n == 11 && strcmp(f[0], "p") == 0, gone = n == 4 && strcmp(f[0], "x") == 0;
  unsigned long long pid, ppid = 0, threads = 0, cpu = 0, rss = 0, fresh = 0, top;
  int node = sample || gone ? ft__agent_node(a->s, f[1]) : -1;
  if (node < 0 || !ft__agent_num(f[2], INT32_MAX, &pid) || pid == 0 ||
      !ft__agent_num(f[sample ? 9 : 3], 1, &top))
    return;
  if (sample && (!ft__agent_num(f[3], INT32_MAX, &ppid) || strlen(f[4]) != 1 ||
                 !strchr("RSDZTtXxIKWP", f[4][0]) || !ft__agent_num(f[5], 1000000, &threads) ||
                 !ft__agent_num(f[6], 10000000, &cpu) || !ft__agent_num(f[7], 1ull << 40, &rss) ||
                 !ft__agent_num(f[8], 1, &fresh)))
    return;
  const char *name = sample ? f[10] : NULL;
  if (name &&
      strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+:?") !=
          strlen(name))
    return;
  ft__host_info info = {.name = ft__slurm_nodes(a->s)[node],
                        .address = ft__slurm_addrs(a->s)[node],
                        .launcher = "slurm",
                        .job = ft__slurm_job(a->s)};
  uint32_t host;
  if (ft__host_join(a->loop, &info, &host) < 0)
    return;
  if (gone) {
    if (top)
      return; /* a pool worker: its exit comes from its pool, with its status */
    ft_event ev = {.kind = FT_EV_EXIT, .host = host, .pid = (pid_t)pid};
    ev.u.exit.code = -1; /* not known: the agent only saw it gone */
    ft__emit(a->loop, &ev);
    return;
  }
  if (fresh && !top) {
    ft_event ev = {
        .kind = FT_EV_SPAWN, .host = host, .pid = (pid_t)pid, .ppid = (pid_t)ppid, .name = name};
    ev.u.spawn.role = "watched";
    ev.u.spawn.worker = -1;
    ft__emit(a->loop, &ev);
  }
  ft_event ev = {
      .kind = FT_EV_STAT, .host = host, .pid = (pid_t)pid, .ppid = (pid_t)ppid, .name = name};
  ev.u.stat.state = f[4][0];
  ev.u.stat.threads = (int)threads;
  ev.u.stat.cpu = (double)cpu / 10;
  ev.u.stat.rss_kb = rss;
  ft__emit(a->loop, &ev);
}

/* Cut what was read into lines; an over-long line is dropped whole. */
static void ft__agent_feed(ft__slurm_agent *a, const char *p, size_t n) {
  while (n) {
    const char *nl = memchr(p, '\n', n);
    size_t take = nl ? (size_t)(nl - p) : n;
    if (!a->skipping && a->len + take < sizeof a->line) {
      memcpy(a->line + a->len, p, take);
      a->len += take;
    } else {
      a->skipping = true;
    }
    if (nl) {
      a->line[a->len] = '\0';
      if (!a->skipping && memchr(a->line, '\0', a->len) == NULL)
        ft__agent_line(a, a->line);
      a->len = 0;
      a->skipping = false;
      take++;
    }
    p += take;
    n -= take;
  }
}

/* Close srun's stdin (the agents' EOF): at a stop, or when srun is gone. */
static void ft__agent_close_in(ft__child *c, void *owner) {
  if (c && c->pipe_fd[0] >= 0)
    close(c->pipe_fd[0]);
  if (c)
    c->pipe_fd[0] = -1;
  (void)owner;
}

static void ft__agent_on_read(ft_loop *loop, ft__watch *w, uint32_t events) {
  (void)loop;
  (void)events;
  ft__slurm_agent *a = w->data;
  char buf[4096];
  for (int i = 0; i < 64; i++) { /* at most 256 KiB a turn: others get theirs */
    ssize_t k = read(w->fd, buf, sizeof buf);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0 && errno == EAGAIN)
      return;
    if (k <= 0) {
      ft__watch_close(a->loop, a->w); /* EOF: srun is done */
      a->w = NULL;
      return;
    }
    ft__agent_feed(a, buf, (size_t)k);
  }
}

/* Start the agents of allocation s (forktop's own path exe), reporting
 * into loop.  0 or an error (the run goes on without them). */
int ft__slurm_agent_new(ft_loop *loop, const ft__slurm *s, const char *exe, ft__slurm_agent **out) {
  char jobid[48], nodes[32], job[32];
  snprintf(jobid, sizeof jobid, "--jobid=%s", ft__slurm_job(s));
  snprintf(job, sizeof job, "%s", ft__slurm_job(s));
  size_t nn = 0;
  while (ft__slurm_nodes(s)[nn])
    nn++;
  snprintf(nodes, sizeof nodes, "-N%zu", nn);
  char *argv[] = {"srun",
                  jobid,
                  "--overlap",
                  nodes,
                  "--ntasks-per-node=1",
                  "--quiet",
                  "--kill-on-bad-exit=0",
                  (char *)exe,
                  "agent",
                  "--job",
                  job,
                  NULL};
  /* its environment without the guard's tag (see the top of the file) */
  size_t ne = 0, k = 0;
  while (environ[ne])
    ne++;
  char **envp = calloc(ne + 1, sizeof *envp);
  ft__slurm_agent *a = envp ? calloc(1, sizeof *a) : NULL;
  *out = NULL;
  if (!a) {
    free(envp);
    return -ENOMEM;
  }
  for (size_t i = 0; i < ne; i++)
    if (strncmp(environ[i], FT_GUARD_ENV "=", sizeof FT_GUARD_ENV) != 0)
      envp[k++] = environ[i];
  a->loop = loop;
  a->s = s;
  ft__spawn_opts o = {.name = "slurm-agent",
                      .role = "process",
                      .worker = -1,
                      .argv = argv,
                      .in = {.mode = FT_STDIO_PIPE},
                      .out = {.mode = FT_STDIO_PIPE},
                      .err = {.mode = FT_STDIO_NULL},
                      .on_exit = ft__agent_close_in,
                      .envp = envp,
                      .spare = true,
                      .spare_fd = ft_guard_outer_procs()};
  o.owner = a;
  int rc = ft__spawn(loop, &o, &a->c);
  if (o.spare_fd >= 0)
    close(o.spare_fd);
  free(envp);
  if (rc < 0) {
    free(a);
    return rc;
  }
  /* its stdin's write end stays the child's (pipe_fd[0]): so forked
   * children of the loop close it, and it is closed when srun is gone */
  int fd = a->c->pipe_fd[1];
  a->c->pipe_fd[1] = -1;
  if (!(a->w = ft__watch_new(loop, fd, EPOLLIN, ft__agent_on_read, a, true))) {
    close(fd);
    ft__slurm_agent_free(a);
    return -ENOMEM;
  }
  *out = a;
  return 0;
}

/* srun's pid (its exit is no failure of the work), or 0. */
pid_t ft__slurm_agent_pid(const ft__slurm_agent *a) { return a && a->c ? a->c->pid : 0; }

/* Tell the agents to end (EOF on their stdin); they and srun exit by
 * themselves.  NULL is a no-op. */
void ft__slurm_agent_stop(ft__slurm_agent *a) {
  if (a && !a->stop_ns) {
    ft__agent_close_in(a->c, a);
    a->stop_ns = ft_now_ns();
  }
}

/* Whether the agents, told to stop, have said their last (EOF on their
 * step's stdout: their last round, the exits since the previous one, is
 * in), or have had FT__AGENT_LAST_NS to.  NULL: true. */
bool ft__slurm_agent_done(const ft__slurm_agent *a) {
  return !a || !a->w || (a->stop_ns && ft_now_ns() - a->stop_ns > FT__AGENT_LAST_NS);
}

/* Stop reading and let srun go (the loop kills it if it still runs).
 * NULL is a no-op. */
void ft__slurm_agent_free(ft__slurm_agent *a) {
  if (!a)
    return;
  ft__slurm_agent_stop(a);
  if (a->w)
    ft__watch_close(a->loop, a->w);
  if (a->c)
    ft__child_release(a->c);
  free(a);
}
