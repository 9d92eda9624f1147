/* ft_transport_tcp_launch.c - a TCP worker's local process, the one its
 * pool supervises: the worker itself (hosts = tcp), or a launcher in
 * front of it (srun, hosts = slurm:N) placed on a host, given a one-time
 * token in its environment, spared by the run's guard when asked
 * (ft_pool_tcp.spare_launchers); and what that process's end means: its
 * exit status as the worker's (srun's 128+N is signal N), or a cause of
 * the transport's own (its host lost) or the launcher's own words (srun
 * could not start the worker).  A worker in a Slurm step is signalled
 * through scancel, never through its srun. */
#include "ft_guard.h"
#include "ft_transport_tcp_int.h"

#include <stdio.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <unistd.h>

extern char **environ;

/* The launcher: runs in the forked child (signals reset, the loop's fds
 * closed), and execs the worker command with the token in its
 * environment.  It dies with us (a remote launcher, srun, will be watched
 * by its connection instead). */
static int ft__tcp_launch(void *arg) {
  ft__tw *tw = arg;
  if (!tw->spare)
    prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != tw->parent)
    return 1; /* the parent died before the prctl (or before we could start) */
  execvpe(tw->argv[0], tw->argv, tw->envp ? tw->envp : environ);
  return 127;
}

void ft__tcp_worker_start(ft__transport *tr, int w, ft__spawn_opts *so) {
  ft__tcp *t = (ft__tcp *)tr;
  ft__tw *tw = &t->ws[w];
  tw->launched = ft_now_ns();
  tw->parent = t->base.pool->loop->pid;
  tw->bye_sent = tw->recycled = false;
  tw->inflight = 0;
  tw->chunk_ns = 0;
  tw->dropped = 0;
  tw->cause[0] = '\0';
  tw->hello = false;
  tw->step[0] = '\0';
  tw->errtail[0] = '\0';
  if (t->launcher) { /* what srun says when it cannot start the worker */
    so->errtail = tw->errtail;
    so->errtail_cap = sizeof tw->errtail;
  }
  /* On its own host, or (that host lost) on the next one still answering. */
  for (int k = 0; t->nhosts && k < t->nhosts; k++) {
    int h = (w + k) % t->nhosts;
    if (!t->lost[h]) {
      t->host[w] = h;
      tw->argv[t->hostarg] = t->argv[t->hostarg - 1 + (size_t)h];
      break;
    }
  }
  /* A fresh one-time token for every process started in this slot. */
  tw->token_live = getrandom(tw->token, sizeof tw->token, 0) == (ssize_t)sizeof tw->token;
  int k = snprintf(tw->tokenenv, sizeof tw->tokenenv, "FORKTOP_TOKEN=");
  for (int i = 0; i < FT__TOKEN_LEN; i++)
    k += snprintf(tw->tokenenv + k, sizeof tw->tokenenv - (size_t)k, "%02x", tw->token[i]);
  size_t ne = 0;
  while (environ[ne])
    ne++;
  free(tw->envp);
  tw->envp = ft__xalloc((ne + 2) * sizeof *tw->envp);
  if (tw->envp) {
    size_t j = 0;
    for (size_t i = 0; i < ne; i++)
      if (strncmp(environ[i], "FORKTOP_TOKEN=", 14) &&
          !(t->spare && strncmp(environ[i], FT_GUARD_ENV "=", sizeof FT_GUARD_ENV) == 0))
        tw->envp[j++] = environ[i];
    tw->envp[j++] = tw->tokenenv;
  }
  /* Without a token or an environment the worker cannot prove itself:
   * its hello is refused and the connect deadline kills it. */
  so->target = ft__tcp_launch;
  so->arg = tw;
  tw->spare = t->spare;
  so->spare = t->spare;
  so->spare_fd = t->spare_fd;
}

/* A launcher (srun) exits 128+N when its remote task died of signal N.
 * One we killed for a cause of ours (its host lost) says nothing. */
int ft__tcp_exit_code(ft__transport *tr, int w, int code) {
  if (((ft__tcp *)tr)->ws[w].cause[0])
    return 0;
  if (((ft__tcp *)tr)->launcher && code > 128 && code < 128 + 65)
    return -(code - 128);
  return code;
}

/* Why worker w is gone when its launcher's exit does not say it: its
 * host lost, or a launcher that never got it to say hello, in the
 * launcher's own words (srun: "slurmstepd-n1: error: execve(): ...: No
 * such file or directory"). */
const char *ft__tcp_exit_cause(ft__transport *tr, int w) {
  ft__tw *tw = &((ft__tcp *)tr)->ws[w];
  return tw->cause[0] ? tw->cause : !tw->hello && tw->errtail[0] ? tw->errtail : NULL;
}

/* scancel, once done: nothing to wait for (its errors are its output). */
static void ft__tcp_scancel_done(ft__child *c, void *owner) {
  (void)owner;
  ft__child_release(c);
}

/* Signal worker w: a Slurm step's worker through `scancel --signal=N
 * JOB.STEP` (slurmstepd signals it on its node; srun, the local launcher,
 * is not signalled, and reports the worker's end as it does any), else
 * its launcher (a TCP worker is its launcher, exec'd).  scancel runs as a
 * child of the loop, not waited for: the worker's death comes back as
 * its launcher's exit, as every death does.  The signal is noted as sent
 * to the launcher, so that exit says it was requested.
 *
 * scancel's status says nothing: Slurm 22.05's exits 225 ("Kill job error
 * on job step id J: Invalid job id specified") after it has signalled an
 * --overlap step of a job on two nodes (the other node has no such step),
 * so it runs under a shell that exits 0: its exit must not fail the work
 * (its message is still captured, its exit still shown as a watched
 * process's). */
int ft__tcp_signal_worker(ft__transport *tr, int w, int signo) {
  ft__tcp *t = (ft__tcp *)tr;
  ft__worker *wk = &t->base.pool->workers[w];
  if (!wk->child || wk->state != FT__W_ALIVE)
    return -ESRCH;
  if (!t->ws[w].step[0])
    return ft__child_signal(wk->child, signo);
  char sig[24];
  snprintf(sig, sizeof sig, "--signal=%d", signo);
  char *argv[] = {"sh", "-c", "scancel \"$@\" || :", "scancel", sig, t->ws[w].step, NULL};
  ft__spawn_opts so = {.name = "scancel",
                       .role = "process",
                       .worker = -1,
                       .argv = argv,
                       .in = {.mode = FT_STDIO_NULL},
                       .out = {.mode = FT_STDIO_NULL},
                       .err = t->base.pool->err,
                       .on_exit = ft__tcp_scancel_done};
  ft__child *c = NULL;
  int rc = ft__spawn(t->base.pool->loop, &so, &c);
  if (rc == 0 && signo > 0 && signo < 64)
    wk->child->sent |= 1ull << signo;
  return rc;
}

/* A launcher that exited without its worker ever saying hello. */
bool ft__tcp_never_started(ft__transport *tr, int w) {
  return ((ft__tcp *)tr)->launcher && !((ft__tcp *)tr)->ws[w].hello;
}
