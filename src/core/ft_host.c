/* ft_host.c - the hosts a loop's pools reach (issue 16): each gets a small
 * number (1, 2, ...; 0 is this machine) the first time a launcher meets
 * it, a `host` event on that join and on every change of state, and a list
 * of signal hooks, one per launcher that runs processes there.
 *
 * A remote pid means nothing on this machine: the same number may well be
 * a live local process.  So a remote process is only ever signalled
 * through its host's hooks (a TCP pool signals the worker's local
 * launcher; Slurm would run `scancel --signal`), and never by kill(2) on
 * its pid: ft_loop_signal_host refuses host 0. */
#include "ft_internal.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#define FT__HOST_STR 96

typedef struct ft__host_hook {
  ft__host_signal_cb fn;
  void *ud;
} ft__host_hook;

typedef struct ft__host {
  char name[FT__HOST_STR], launcher[16];
  char address[64], job[32]; /* as the join said them: every state event says them too */
  bool lost;
  ft__host_hook *hooks;
  size_t nhooks;
} ft__host;

struct ft__hosts {
  ft__host *h; /* h[i] is host i + 1 */
  size_t n;
};

static void ft__copy(char *dst, size_t cap, const char *s) { snprintf(dst, cap, "%s", s ? s : ""); }

static ft__host *ft__host_get(const ft_loop *loop, uint32_t id) {
  if (!loop->hosts || id == 0 || id > loop->hosts->n)
    return NULL;
  return &loop->hosts->h[id - 1];
}

static void ft__host_emit(ft_loop *loop, uint32_t id, const ft__host_info *info, bool lost,
                          const char *cause) {
  ft_event ev = {.kind = FT_EV_HOST, .host = id, .pid = loop->pid, .ppid = getppid()};
  ev.name = info->name;
  ev.u.host.address = info->address;
  ev.u.host.launcher = info->launcher;
  ev.u.host.job = info->job;
  ev.u.host.lost = lost;
  ev.u.host.cause = cause;
  ft__emit(loop, &ev);
}

/* The host named info->name for launcher info->launcher: its number,
 * made (and announced with a `host` event, state up, or lost with
 * info->cause: a host whose launcher gave it up before any of its workers
 * reached us was never up) the first time.  0 or -ENOMEM. */
int ft__host_join(ft_loop *loop, const ft__host_info *info, uint32_t *id) {
  if (!loop->hosts && !(loop->hosts = calloc(1, sizeof *loop->hosts)))
    return -ENOMEM;
  ft__hosts *hs = loop->hosts;
  for (size_t i = 0; i < hs->n; i++)
    if (strncmp(hs->h[i].name, info->name, FT__HOST_STR - 1) == 0 &&
        strcmp(hs->h[i].launcher, info->launcher ? info->launcher : "") == 0) {
      *id = (uint32_t)(i + 1);
      return 0;
    }
  ft__host *h = realloc(hs->h, (hs->n + 1) * sizeof *h);
  if (!h)
    return -ENOMEM;
  hs->h = h;
  h = &hs->h[hs->n++];
  memset(h, 0, sizeof *h);
  ft__copy(h->name, sizeof h->name, info->name);
  ft__copy(h->launcher, sizeof h->launcher, info->launcher);
  ft__copy(h->address, sizeof h->address, info->address);
  ft__copy(h->job, sizeof h->job, info->job);
  h->lost = info->lost;
  *id = (uint32_t)hs->n;
  ft__host_emit(loop, *id, info, info->lost, info->lost ? info->cause : NULL);
  return 0;
}

/* Host id is up (lost false) or lost, for cause: a `host` event when that
 * changes its state.  info is what the join said (name, address, ...). */
void ft__host_set_state(ft_loop *loop, uint32_t id, const ft__host_info *info, bool lost,
                        const char *cause) {
  ft__host *h = ft__host_get(loop, id);
  if (!h || h->lost == lost)
    return;
  h->lost = lost;
  ft__host_info known = {.name = h->name,
                         .launcher = h->launcher,
                         .address = h->address[0] ? h->address : NULL,
                         .job = h->job[0] ? h->job : NULL}; /* info may be NULL */
  ft__host_emit(loop, id, info ? info : &known, lost, cause);
}

/* Add a signal hook to host id (a launcher that runs processes there). */
int ft__host_on_signal(ft_loop *loop, uint32_t id, ft__host_signal_cb fn, void *ud) {
  ft__host *h = ft__host_get(loop, id);
  if (!h)
    return -ESRCH;
  for (size_t i = 0; i < h->nhooks; i++)
    if (h->hooks[i].fn == fn && h->hooks[i].ud == ud)
      return 0;
  ft__host_hook *k = realloc(h->hooks, (h->nhooks + 1) * sizeof *k);
  if (!k)
    return -ENOMEM;
  h->hooks = k;
  h->hooks[h->nhooks++] = (ft__host_hook){fn, ud};
  return 0;
}

/* Remove every signal hook with this ud (its launcher is going). */
void ft__host_forget(ft_loop *loop, const void *ud) {
  for (size_t id = 1; loop->hosts && id <= loop->hosts->n; id++) {
    ft__host *h = &loop->hosts->h[id - 1];
    size_t k = 0;
    for (size_t i = 0; i < h->nhooks; i++)
      if (h->hooks[i].ud != ud)
        h->hooks[k++] = h->hooks[i];
    h->nhooks = k;
  }
}

/* Signal a remote process through its host's launchers: the first hook
 * that knows pid answers (-ESRCH from a hook: not one of mine). */
int ft_loop_signal_host(ft_loop *loop, uint32_t host, pid_t pid, int signo) {
  if (!loop || host == 0 || pid <= 0 || signo < 0 || signo >= NSIG)
    return -EINVAL;
  const ft__host *h = ft__host_get(loop, host);
  if (!h)
    return -ESRCH;
  for (size_t i = 0; i < h->nhooks; i++) {
    int rc = h->hooks[i].fn(loop, host, pid, signo, h->hooks[i].ud);
    if (rc != -ESRCH)
      return rc;
  }
  return -ESRCH;
}

/* Free the loop's hosts. */
void ft__hosts_free(ft_loop *loop) {
  if (!loop->hosts)
    return;
  for (size_t i = 0; i < loop->hosts->n; i++)
    free(loop->hosts->h[i].hooks);
  free(loop->hosts->h);
  free(loop->hosts);
  loop->hosts = NULL;
}
