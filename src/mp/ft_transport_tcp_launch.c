/* ft_transport_tcp_launch.c - a TCP worker's local process, the one its
 * pool supervises: the worker itself (hosts = tcp), or a launcher in
 * front of it (srun, hosts = slurm:N) placed on a host, given a one-time
 * token in its environment, spared by the run's guard when asked
 * (ft_pool_tcp.spare_launchers); and what that process's end means: its
 * exit status as the worker's (srun's 128+N is signal N), or a cause of
 * the transport's own (its host lost) or the launcher's own words (srun
 * could not start the worker).  A worker in a Slurm step is signalled
 * through scancel, never through its srun.  And the hosts given up: one
 * silent past the heartbeat (ft_transport_tcp.c finds it), or one where
 * launches keep failing to start a worker while another host works. */
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
  tw->hello = tw->no_hello = false;
  tw->step[0] = '\0';
  tw->errtail[0] = '\0';
  if (t->launcher) { /* what srun says when it cannot start the worker */
    so->errtail = tw->errtail;
    so->errtail_cap = sizeof tw->errtail;
  }
  /* On its own host, or (that host lost) on the next one still answering. */
  for (int k = 0; t->nhosts && k < t->nhosts; k++) {
    int h = (w + k) % t->nhosts;
    if (!t->hosts[h].lost) {
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

/* The name of host h (as the launcher places workers there: srun -w NAME). */
static const char *ft__tcp_host_name(const ft__tcp *t, int h) {
  return t->argv[t->hostarg - 1 + (size_t)h];
}

/* Host h is given up.  Said first: the tasks its workers held fail next,
 * and the stream must tell why before it tells that; those tasks fail
 * with the same words (exit_cause), not with the SIGKILL we send their
 * launchers. */
void ft__tcp_host_lost(ft__tcp *t, int h, const char *cause) {
  t->hosts[h].lost = true;
  ft__pool_host_lost(t->base.pool, ft__tcp_host_name(t, h), t->job[0] ? t->job : NULL, cause);
  for (int w = 0; w < t->n; w++) {
    ft__child *c = t->base.pool->workers[w].child;
    if (t->host[w] != h || t->base.pool->workers[w].state != FT__W_ALIVE || !c || c->reaped)
      continue; /* (a launcher whose exit is being told now is gone already) */
    snprintf(t->ws[w].cause, sizeof t->ws[w].cause, "host %s lost: %s", ft__tcp_host_name(t, h),
             cause);
    ft__child_signal(c, SIGKILL);
  }
}

/* Worker w's launcher exited.  One that never got its worker to say
 * hello is a start that failed on its host (a hello there starts the
 * count again); its words, or its status when it said nothing, are kept
 * as the host's cause should it be given up.  A launcher we killed
 * ourselves (its host lost) says nothing of its host. */
void ft__tcp_launcher_exited(ft__tcp *t, int w) {
  ft__tw *tw = &t->ws[w];
  if (!t->launcher || !t->nhosts || tw->hello || tw->cause[0])
    return;
  ft__thost *h = &t->hosts[t->host[w]];
  if (h->lost)
    return;
  h->start_fails++;
  if (tw->errtail[0]) {
    snprintf(h->why, sizeof h->why, "%s", tw->errtail);
  } else if (tw->no_hello) {
    snprintf(h->why, sizeof h->why, "no worker connected back within %.0f s of its %s",
             (double)FT__CONNECT_NS / 1e9, tw->argv[0]);
  } else {
    const ft__child *c = t->base.pool->workers[w].child;
    int code = c ? ft__child_exitcode(c) : 0;
    snprintf(h->why, sizeof h->why, "%s exited with %s %d, saying nothing", tw->argv[0],
             code < 0 ? "signal" : "code", code < 0 ? -code : code);
  }
  ft__tcp_starts_check(t);
}

/* A host where FT__MAX_QUICK_DEATHS launches in a row failed to start a
 * worker (forktop missing there, say), and where no worker runs now, is
 * given up once another host runs workers that said hello: its workers
 * are then placed there, and it gets no more launches.  Its failed
 * launchers held no task (a worker is sent chunks only after its hello),
 * so nothing fails with it.  Launchers still starting there are killed
 * as a lost host's are, and their workers placed elsewhere too; one whose
 * worker says hello between the kill and its exit is refused
 * (ft__tcp_hello).  Until another host is seen working, none is given
 * up: when every host fails the same way, the pool's own backoff rule
 * fails the work with the launcher's words (ft_pool.c), and no host is
 * to blame more than another.  Checked at each failed start and each
 * tick (another host may start working later). */
void ft__tcp_starts_check(ft__tcp *t) {
  for (int h = 0; h < t->nhosts; h++) {
    ft__thost *th = &t->hosts[h];
    if (th->lost || th->start_fails < FT__MAX_QUICK_DEATHS)
      continue;
    bool here = false, elsewhere = false;
    for (int w = 0; w < t->n; w++) {
      const ft__tw *tw = &t->ws[w];
      if (t->base.pool->workers[w].state != FT__W_ALIVE || !tw->hello || !tw->c || tw->dropped)
        continue;
      if (t->host[w] == h)
        here = true;
      else if (!t->hosts[t->host[w]].lost)
        elsewhere = true;
    }
    if (here || !elsewhere)
      continue;
    char cause[sizeof th->why + 64];
    snprintf(cause, sizeof cause, "could not start a worker in %d tries: %s", th->start_fails,
             th->why);
    ft__tcp_host_lost(t, h, cause);
  }
}
