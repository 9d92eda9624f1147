/* ui_check.c - `forktop check -- CMD`: run CMD, and when it has exited and
 * a grace period has passed, report what it left behind: processes still
 * running, zombies their parents did not reap, shared memory and SysV IPC
 * objects.  Exit status 0 clean, 3 leaks, 1 forktop failed, 2 usage. */
#include "ui_check.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_tree.h"

#define UI_ZOMBIE_NS 500000000ull /* unreaped this long is a leak */
#define UI_SCAN_NS 50000000ull

typedef struct ui_zombie {
  pid_t pid, ppid;
  char comm[64], parent[64];
  uint64_t first, last; /* seen, ns */
  bool orphaned;        /* its parent died and forktop reaped it */
} ui_zombie;

typedef struct ui_name {
  char name[300];
  uint64_t size;
} ui_name;

typedef struct ui_check {
  ft_loop *loop;
  ft_tree tree;
  ui_zombie *zombies;
  size_t nzombies;
  uint64_t t0;
} ui_check;

/* ---------------------------------------------------- shared memory */

static size_t ui_shm_list(ui_name *out, size_t cap) {
  DIR *d = opendir("/dev/shm");
  size_t n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)) && n < cap) {
    if (e->d_name[0] == '.')
      continue;
    char p[300];
    struct stat st;
    snprintf(p, sizeof p, "/dev/shm/%s", e->d_name);
    if (stat(p, &st) < 0)
      continue;
    snprintf(out[n].name, sizeof out[n].name, "/dev/shm/%s", e->d_name);
    out[n++].size = (uint64_t)st.st_size;
  }
  if (d)
    closedir(d);
  return n;
}

/* SysV objects as "shm id N key 0xK" lines from /proc/sysvipc. */
static size_t ui_sysv_list(ui_name *out, size_t cap) {
  static const char *const kinds[] = {"shm", "sem", "msg"};
  size_t n = 0;
  for (int k = 0; k < 3; k++) {
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/sysvipc/%s", kinds[k]);
    FILE *f = fopen(path, "re");
    if (!f)
      continue;
    if (!fgets(line, sizeof line, f)) { /* the header */
      fclose(f);
      continue;
    }
    while (n < cap && fgets(line, sizeof line, f)) {
      long long key, id, size = 0;
      if (sscanf(line, "%lld %lld %*o %lld", &key, &id, &size) < 2)
        continue;
      snprintf(out[n].name, sizeof out[n].name, "%s id %lld key 0x%llx", kinds[k], id,
               (unsigned long long)key);
      out[n++].size = k == 0 ? (uint64_t)size : 0;
    }
    fclose(f);
  }
  return n;
}

static bool ui_in(const ui_name *set, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(set[i].name, name) == 0)
      return true;
  return false;
}

/* ---------------------------------------------------------- watching */

/* Every scan: note the zombies in the tree, with their parents. */
static void ui_check_scan(ft_timer *t, void *ud) {
  (void)t;
  ui_check *c = ud;
  uint64_t now = ft_now_ns();
  if (ft_tree_scan(getpid(), &c->tree) < 0)
    return;
  for (size_t i = 0; i < c->tree.n; i++) {
    const ft_tree_proc *p = &c->tree.procs[i];
    if (p->state != 'Z' || p->ppid == getpid())
      continue; /* ours are reaped at once by the loop */
    ui_zombie *z = NULL;
    for (size_t k = 0; k < c->nzombies; k++)
      if (c->zombies[k].pid == p->pid && c->zombies[k].ppid == p->ppid)
        z = &c->zombies[k];
    if (!z) {
      ui_zombie *nz = realloc(c->zombies, (c->nzombies + 1) * sizeof *nz);
      if (!nz)
        return;
      c->zombies = nz;
      z = &c->zombies[c->nzombies++];
      memset(z, 0, sizeof *z);
      z->pid = p->pid;
      z->ppid = p->ppid;
      z->first = now;
      snprintf(z->comm, sizeof z->comm, "%s", p->comm);
      ft_tree_proc parent;
      if (ft_tree_read(p->ppid, &parent) == 0)
        snprintf(z->parent, sizeof z->parent, "%s", parent.comm);
    }
    z->last = now;
  }
}

/* An orphan that forktop reaped: if it was a zombie of someone else's,
 * that parent died without reaping it. */
static void ui_check_hook(const ft_event *ev, void *ud) {
  ui_check *c = ud;
  if (ev->kind != FT_EV_EXIT || !ev->u.exit.orphan)
    return;
  for (size_t k = 0; k < c->nzombies; k++)
    if (c->zombies[k].pid == ev->pid) {
      c->zombies[k].orphaned = true;
      c->zombies[k].last = ev->t_ns;
    }
}

static void ui_wake(ft_timer *t, void *ud) {
  (void)t;
  *(bool *)ud = true;
}

/* The chain of parents from forktop down to pid, as "a(1) > b(2)". */
static void ui_chain(const ft_tree *tree, pid_t pid, char *buf, size_t cap) {
  pid_t chain[32];
  int n = 0;
  for (pid_t p = pid; n < 32;) {
    chain[n++] = p;
    ssize_t i = ft_tree_find(tree, p);
    if (i < 0)
      break;
    p = tree->procs[i].ppid;
  }
  size_t w = 0;
  buf[0] = '\0';
  for (int i = n - 1; i >= 0 && w < cap; i--) {
    ssize_t k = ft_tree_find(tree, chain[i]);
    const char *name = k >= 0 ? tree->procs[k].comm : chain[i] == getpid() ? "forktop" : "?";
    w += (size_t)snprintf(buf + w, cap - w, "%s%s(%d)", i == n - 1 ? "" : " > ", name, (int)chain[i]);
  }
}

/* Run the check; returns the exit status. */
int ui_check_run(char *const *argv, const ui_check_opts *o) {
  static ui_name shm0[1024], shm1[1024], ipc0[1024], ipc1[1024];
  size_t nshm0 = ui_shm_list(shm0, 1024), nipc0 = ui_sysv_list(ipc0, 1024);
  ui_check c = {0};
  ft_process *p = NULL;
  ft_timer *scan = NULL, *grace = NULL;
  int status = 1, rc;
  json_t *report = NULL;
  if ((rc = ft_loop_new(&c.loop)) < 0 || (rc = ft_timer_new(c.loop, &scan)) < 0 ||
      (rc = ft_timer_new(c.loop, &grace)) < 0) {
    fprintf(stderr, "forktop: %s\n", ft_strerror(rc));
    goto done;
  }
  ft_loop_add_hook(c.loop, ui_check_hook, &c);
  /* The command talks to the terminal as usual; with --json its stdout goes
   * to stderr, so that stdout holds the report alone. */
  ft_process_opts po = {.argv = argv, .role = "checked", .out = {.mode = FT_STDIO_INHERIT},
                        .err = {.mode = FT_STDIO_INHERIT}, .in = {.mode = FT_STDIO_INHERIT}};
  if (o->json)
    po.out = (ft_stdio){.mode = FT_STDIO_FD, .fd = 2};
  if ((rc = ft_process_new(c.loop, &po, &p)) < 0 || (rc = ft_process_start(p)) < 0) {
    fprintf(stderr, "forktop: cannot run %s: %s\n", argv[0], ft_strerror(rc));
    goto done;
  }
  c.t0 = ft_now_ns();
  ft_timer_start(scan, UI_SCAN_NS, UI_SCAN_NS, ui_check_scan, &c);
  while (ft_process_is_alive(p))
    if (ft_loop_run(c.loop, FT_RUN_ONCE) < 0)
      goto done;
  double runtime = (double)(ft_now_ns() - c.t0) / 1e9;
  int code = 0;
  ft_process_exitcode(p, &code);
  bool over = false;
  ft_timer_start(grace, (uint64_t)(o->grace * 1e9), 0, ui_wake, &over);
  while (!over)
    ft_loop_run(c.loop, FT_RUN_ONCE);
  ft_timer_stop(scan);
  ui_check_scan(scan, &c);

  /* what is left */
  size_t nshm1 = ui_shm_list(shm1, 1024), nipc1 = ui_sysv_list(ipc1, 1024);
  report = json_object();
  json_t *cmd = json_array(), *procs = json_array(), *zombies = json_array(), *shm = json_array(),
         *ipc = json_array();
  for (char *const *a = argv; *a; a++)
    json_array_append_new(cmd, json_string(*a));
  json_object_set_new(report, "command", cmd);
  if (code < 0)
    json_object_set_new(report, "signal", json_string(ft_signal_name(-code)));
  else
    json_object_set_new(report, "exit_code", json_integer(code));
  json_object_set_new(report, "runtime", json_real(runtime));
  json_object_set_new(report, "grace", json_real(o->grace));
  size_t leaks = 0;
  for (size_t i = 0; i < c.tree.n; i++) {
    const ft_tree_proc *t = &c.tree.procs[i];
    if (t->state == 'Z')
      continue;
    char cmdline[512], chain[512];
    ft_tree_cmdline(t->pid, cmdline, sizeof cmdline);
    ui_chain(&c.tree, t->pid, chain, sizeof chain);
    json_array_append_new(procs, json_pack("{s:i,s:i,s:s,s:s,s:s,s:f,s:b}", "pid", (int)t->pid, "ppid",
                                           (int)t->ppid, "comm", t->comm, "cmdline",
                                           cmdline[0] ? cmdline : t->comm, "parents", chain, "age",
                                           ft_tree_age(t->start_ticks), "orphan",
                                           t->ppid == getpid()));
    leaks++;
  }
  for (size_t k = 0; k < c.nzombies; k++) {
    ui_zombie *z = &c.zombies[k];
    bool still = false;
    for (size_t i = 0; i < c.tree.n; i++)
      still |= c.tree.procs[i].pid == z->pid && c.tree.procs[i].state == 'Z';
    uint64_t dur = (still ? ft_now_ns() : z->last) - z->first;
    if (!still && !z->orphaned && dur < UI_ZOMBIE_NS)
      continue; /* reaped by its parent, if a little late */
    json_array_append_new(zombies, json_pack("{s:i,s:s,s:i,s:s,s:f,s:s}", "pid", (int)z->pid, "comm", z->comm,
                                             "parent_pid", (int)z->ppid, "parent", z->parent,
                                             "unreaped_for", (double)dur / 1e9, "fate",
                                             still ? "still a zombie" : z->orphaned ? "parent exited; reaped by forktop" : "reaped late"));
    leaks++;
  }
  for (size_t i = 0; i < nshm1; i++)
    if (!ui_in(shm0, nshm0, shm1[i].name)) {
      json_array_append_new(shm, json_pack("{s:s,s:I}", "path", shm1[i].name, "bytes", (json_int_t)shm1[i].size));
      leaks++;
    }
  for (size_t i = 0; i < nipc1; i++)
    if (!ui_in(ipc0, nipc0, ipc1[i].name)) {
      json_array_append_new(ipc, json_pack("{s:s,s:I}", "object", ipc1[i].name, "bytes", (json_int_t)ipc1[i].size));
      leaks++;
    }
  json_object_set_new(report, "leaked_processes", procs);
  json_object_set_new(report, "zombies", zombies);
  json_object_set_new(report, "shm", shm);
  json_object_set_new(report, "sysv_ipc", ipc);

  /* --kill: SIGTERM, up to two seconds, SIGKILL */
  json_t *killed = json_array();
  if (o->kill && json_array_size(procs)) {
    size_t i;
    json_t *v;
    json_array_foreach(procs, i, v) kill((pid_t)json_integer_value(json_object_get(v, "pid")), SIGTERM);
    uint64_t until = ft_now_ns() + 2000000000ull;
    bool left = true;
    while (left && ft_now_ns() < until) {
      usleep(20000);
      ft_loop_run(c.loop, FT_RUN_NOWAIT); /* reap the orphans among them */
      left = false;
      json_array_foreach(procs, i, v) left |= kill((pid_t)json_integer_value(json_object_get(v, "pid")), 0) == 0;
    }
    json_array_foreach(procs, i, v) {
      pid_t pid = (pid_t)json_integer_value(json_object_get(v, "pid"));
      const char *how = "SIGTERM";
      if (kill(pid, 0) == 0) {
        kill(pid, SIGKILL);
        how = "SIGKILL";
      }
      json_array_append_new(killed, json_pack("{s:i,s:s}", "pid", (int)pid, "signal", how));
    }
  }
  json_object_set_new(report, "killed", killed);
  status = leaks ? 3 : 0;
  json_object_set_new(report, "leaks", json_integer((json_int_t)leaks));
  json_object_set_new(report, "exit_status", json_integer(status));
  if (o->json) {
    json_dumpf(report, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("\n");
  } else {
    ui_check_print(report, stdout);
  }
  if (!o->kill)
    ft_loop_disown(c.loop); /* leave the leaks running: they were reported, not ours to end */
done:
  json_decref(report);
  ft_timer_free(scan);
  ft_timer_free(grace);
  ft_process_free(p);
  ft_loop_free(c.loop);
  ft_tree_free(&c.tree);
  free(c.zombies);
  return status;
}
