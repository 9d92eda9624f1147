/* ft_test.c - the shared fixture of the cmocka tests. */
#include "ft_test.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void ft_test_record(const ft_event *ev, void *ud) {
  ft_test *t = ud;
  if (t->nevs == t->capevs) {
    t->capevs = t->capevs ? t->capevs * 2 : 256;
    t->evs = realloc(t->evs, t->capevs * sizeof *t->evs);
    assert_non_null(t->evs);
  }
  ft_rec_event *r = &t->evs[t->nevs++];
  r->ev = *ev;
  r->name = strdup(ev->name);
  r->ev.name = r->name;
  r->line = NULL;
  if (ev->kind == FT_EV_OUTPUT) {
    r->line = strndup(ev->u.output.line, ev->u.output.len);
    r->ev.u.output.line = r->line;
  }
  if (ev->kind == FT_EV_SPAWN)
    r->ev.u.spawn.role = NULL;
  if (ev->kind == FT_EV_EXEC)
    r->ev.u.exec.path = NULL;
}

void ft_test_clear(ft_test *t) {
  for (size_t i = 0; i < t->nevs; i++) {
    free(t->evs[i].name);
    free(t->evs[i].line);
  }
  t->nevs = 0;
}

static int ft_test_list_fds(int *out, int cap) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0, self = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.' && atoi(e->d_name) != self && n < cap)
      out[n++] = atoi(e->d_name);
  closedir(d);
  return n;
}

static int ft_test_setup_any(void **state, bool heard) {
  ft_test *t = calloc(1, sizeof *t);
  t->nfds_before = ft_test_list_fds(t->fds_before, 256);
  int rc = ft_loop_new(&t->loop);
  if (rc) {
    fprintf(stderr, "ft_loop_new: %s\n", ft_strerror(rc));
    return -1;
  }
  t->heard = heard;
  if (heard)
    ft_loop_add_hook(t->loop, ft_test_record, t);
  *state = t;
  return 0;
}

int ft_test_setup(void **state) { return ft_test_setup_any(state, true); }

int ft_test_setup_unheard(void **state) { return ft_test_setup_any(state, false); }

int ft_test_teardown(void **state) {
  ft_test *t = *state;
  int failed = 0;
  ft_loop_free(t->loop);
  /* No child may be left: neither running nor a zombie. */
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0) {
    fprintf(stderr, "teardown: child %d left behind\n", (int)si.si_pid);
    failed = 1;
  }
  int now[256];
  int n = ft_test_list_fds(now, 256);
  for (int i = 0; i < n; i++) {
    int found = 0;
    for (int j = 0; j < t->nfds_before; j++)
      found |= now[i] == t->fds_before[j];
    if (!found) {
      char path[64], target[256] = "";
      snprintf(path, sizeof path, "/proc/self/fd/%d", now[i]);
      ssize_t l = readlink(path, target, sizeof target - 1);
      target[l > 0 ? l : 0] = '\0';
      fprintf(stderr, "teardown: fd %d (%s) left open\n", now[i], target);
      failed = 1;
    }
  }
  ft_test_clear(t);
  free(t->evs);
  free(t);
  return failed ? -1 : 0;
}

static void ft_test_alarm(int sig) {
  (void)sig;
  static const char msg[] = "test timed out\n";
  ssize_t w = write(2, msg, sizeof msg - 1);
  (void)w;
  _exit(124);
}

int ft_test_run(const char *name, const struct CMUnitTest *tests, size_t n, unsigned timeout_s) {
  signal(SIGALRM, ft_test_alarm);
  alarm(timeout_s);
  return _cmocka_run_group_tests(name, tests, n, NULL, NULL);
}

size_t ft_test_count(const ft_test *t, ft_event_kind kind, pid_t pid) {
  size_t c = 0;
  for (size_t i = 0; i < t->nevs; i++)
    if (t->evs[i].ev.kind == kind && (!pid || t->evs[i].ev.pid == pid))
      c++;
  return c;
}

const ft_rec_event *ft_test_find(const ft_test *t, ft_event_kind kind, pid_t pid, size_t i) {
  for (size_t k = 0; k < t->nevs; k++)
    if (t->evs[k].ev.kind == kind && (!pid || t->evs[k].ev.pid == pid) && i-- == 0)
      return &t->evs[k];
  return NULL;
}

size_t ft_test_distinct_task_pids(const ft_test *t, ft_event_kind kind) {
  pid_t seen[1024];
  size_t n = 0;
  for (size_t i = 0; i < t->nevs; i++) {
    if (t->evs[i].ev.kind != kind)
      continue;
    pid_t p = t->evs[i].ev.pid;
    size_t j = 0;
    while (j < n && seen[j] != p)
      j++;
    if (j == n && n < 1024)
      seen[n++] = p;
  }
  return n;
}
