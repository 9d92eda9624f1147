/* ui_check.c - `forktop check -- CMD`: run CMD, and when it has exited and
 * a grace period has passed, report what it left behind: processes still
 * running, zombies their parents did not reap, shared memory and SysV IPC
 * objects.  Exit status 0 clean, 3 leaks, 1 forktop failed, 2 usage.
 *
 * Every process of the tree is recorded as it is born, with the parent
 * that forked it (the watch's spawn events: the connector's fork events as
 * root, scans otherwise), so that a leaked process is shown with its real
 * ancestry although it now belongs to forktop, and so that the pids the
 * kernel names as the creators or users of IPC objects can be told to be
 * the tree's or not (ui_check_ipc.c).  Every string of the report goes
 * through ui_sanitize when the report is built. */
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
#include "ft_watch.h"

#define UI_ZOMBIE_NS 500000000ull /* unreaped this long is a leak */
#define UI_SCAN_NS 50000000ull

typedef struct ui_zombie {
  pid_t pid, ppid;
  char comm[64], parent[64];
  uint64_t first, last; /* seen, ns */
  uint64_t start;       /* its start time (ticks after boot): the same zombie, not a reused pid */
  bool orphaned;        /* its parent died and forktop reaped it */
} ui_zombie;

/* A process of the checked tree as it was born: its real parent is the
 * one that forked it, whoever holds it after its parent died. */
typedef struct ui_cproc {
  pid_t pid, ppid;
  uint64_t start; /* start time in ticks after boot; 0 unknown */
  char comm[64];  /* its name at its last exec */
  bool exited;
  bool late; /* first seen by a /proc scan, maybe after its parent died */
} ui_cproc;

typedef struct ui_check {
  ft_loop *loop;
  ft_tree tree;
  ui_zombie *zombies;
  size_t nzombies;
  ui_cproc *procs; /* every process the tree had, in order of birth */
  size_t nprocs, capprocs;
  bool connector; /* forks seen by the kernel's connector, not by scans */
  pid_t self, root;
  ui_ipc *ipc;
  uint64_t t0;
} ui_check;

/* The latest process with this pid (a pid can be reused during a run). */
static ui_cproc *ui_proc(ui_check *c, pid_t pid) {
  for (size_t i = c->nprocs; i-- > 0;)
    if (c->procs[i].pid == pid)
      return &c->procs[i];
  return NULL;
}

/* Whether a pid named by the kernel (an object's creator or user) was a
 * process of the tree.  Pids are reused: where both start times are known
 * (fanotify's creator read when its event arrived, ours read at the spawn)
 * they must agree; SysV's pids come without one, and a pid of the tree
 * taken over by another process during the check would be mistaken. */
static const char *ui_who(pid_t pid, uint64_t start, void *ud) {
  ui_check *c = ud;
  for (size_t i = c->nprocs; pid > 0 && i-- > 0;) {
    const ui_cproc *p = &c->procs[i];
    if (p->pid == pid && (!start || !p->start || start == p->start))
      return p->comm;
  }
  return NULL;
}

/* n bytes of s through the one sanitizer, as a JSON string. */
static json_t *ui_check_strn(const char *s, size_t n) {
  ft_buf b = {0};
  ui_sanitize(s, n, &b);
  json_t *j = json_stringn(b.data ? b.data : "", b.len);
  ft_buf_free(&b);
  return j ? j : json_string("?");
}

/* s through the one sanitizer, as a JSON string. */
json_t *ui_check_str(const char *s) { return ui_check_strn(s, strlen(s)); }

/* ---------------------------------------------------------- watching */

static void ui_cproc_add(ui_check *c, pid_t pid, pid_t ppid, uint64_t start, const char *comm,
                         bool late) {
  if (c->nprocs == c->capprocs) {
    size_t cap = c->capprocs ? c->capprocs * 2 : 64;
    ui_cproc *v = realloc(c->procs, cap * sizeof *v);
    if (!v)
      return;
    c->procs = v;
    c->capprocs = cap;
  }
  ui_cproc *p = &c->procs[c->nprocs++];
  *p = (ui_cproc){.pid = pid, .ppid = ppid, .start = start, .late = late};
  snprintf(p->comm, sizeof p->comm, "%s", comm);
}

/* Every scan: note the zombies in the tree, with their parents, and (where
 * fanotify is not had) the shared memory its processes hold. */
static void ui_check_scan(ft_timer *t, void *ud) {
  (void)t;
  ui_check *c = ud;
  uint64_t now = ft_now_ns();
  if (ft_tree_scan(c->self, &c->tree) < 0)
    return;
  pid_t live[256];
  size_t nlive = 0;
  for (size_t i = 0; i < c->tree.n; i++) {
    const ft_tree_proc *p = &c->tree.procs[i];
    if (p->state != 'Z' && nlive < (sizeof live / sizeof live[0]))
      live[nlive++] = p->pid;
    /* Scanning only: this scan (twice as often as the watch's) may be the
     * first to see it, while its parent is still the one that forked it. */
    ui_cproc *r = ui_proc(c, p->pid);
    if (r && !r->exited && p->state != 'Z' && (!r->start || r->start == p->start_ticks))
      snprintf(r->comm, sizeof r->comm, "%s", p->comm); /* its name now, exec'd or not */
    if (!c->connector && p->pid != c->root &&
        (!r || r->exited || (r->start && r->start != p->start_ticks)))
      ui_cproc_add(c, p->pid, p->ppid, p->start_ticks, p->comm, true);
    if (nlive == (sizeof live / sizeof live[0])) {
      ui_ipc_sample(c->ipc, live, nlive);
      nlive = 0;
    }
    if (p->state != 'Z' || p->ppid == c->self)
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
      z->start = p->start_ticks;
      snprintf(z->comm, sizeof z->comm, "%s", p->comm);
      ft_tree_proc parent;
      if (ft_tree_read(p->ppid, &parent) == 0)
        snprintf(z->parent, sizeof z->parent, "%s", parent.comm);
      /* seen before under another parent: that one exited without reaping it */
      for (size_t k = 0; k + 1 < c->nzombies; k++)
        if (c->zombies[k].pid == p->pid && c->zombies[k].start == p->start_ticks) {
          c->zombies[k].orphaned = true;
          c->zombies[k].last = now;
        }
    }
    z->last = now;
  }
  ui_ipc_sample(c->ipc, live, nlive);
}

/* The tree as it grows: each spawn with the parent that forked it (the
 * watch reports it from the connector's fork event, or from the first scan
 * that finds it: then "late"), each exec's name, each exit.  An orphan
 * that forktop reaped, if it was a zombie of someone else's, had a parent
 * that died without reaping it. */
static void ui_check_hook(const ft_event *ev, void *ud) {
  ui_check *c = ud;
  if (ev->kind == FT_EV_SPAWN) {
    bool late = !c->connector && strcmp(ev->u.spawn.role, "watched") == 0;
    ft_tree_proc tp;
    uint64_t start = ft_tree_read(ev->pid, &tp) == 0 ? tp.start_ticks : 0;
    ui_cproc *p = ui_proc(c, ev->pid);
    if (p && !p->exited && (!start || !p->start || start == p->start)) {
      if (!late) { /* seen by a scan first, now its fork: that knows the parent */
        p->ppid = ev->ppid;
        p->late = false;
      }
      return;
    }
    ui_cproc_add(c, ev->pid, ev->ppid, start, ev->name, late);
    return;
  }
  ui_cproc *p = ui_proc(c, ev->pid);
  if (ev->kind == FT_EV_EXEC && p && !ev->u.exec.err)
    snprintf(p->comm, sizeof p->comm, "%s", ev->name);
  if (ev->kind != FT_EV_EXIT)
    return;
  if (p)
    p->exited = true;
  /* A zombie whose parent exits goes to a subreaper (forktop, or one in
   * the tree), which reaps it; its own exit was reported when it died, so
   * that is known from an orphan's reaping, or from its parent's exit
   * while it is still there, a zombie.
   *
   * The race: a scan (every 50 ms; the only way where the connector does
   * not reach, in a network namespace) sees a process exited and not yet
   * reaped; its parent reaps it a moment later, and exits much later.
   * That zombie was reaped by its parent: at the parent's exit it is gone
   * (a pid since reused is another process: the start time tells).  Its
   * orphan reaping, when it was orphaned, has no such doubt. */
  for (size_t k = 0; k < c->nzombies; k++) {
    ui_zombie *z = &c->zombies[k];
    ft_tree_proc tp;
    bool there = z->ppid == ev->pid && ft_tree_read(z->pid, &tp) == 0 && tp.state == 'Z' &&
                 (!z->start || tp.start_ticks == z->start);
    if (there || (ev->u.exit.orphan && z->pid == ev->pid)) {
      z->orphaned = true;
      z->last = ev->t_ns;
    }
  }
}

static void ui_wake(ft_timer *t, void *ud) {
  (void)t;
  *(bool *)ud = true;
}

/* ------------------------------------------------------------- chains */

/* "name(pid)" of the process pid is now a child of (forktop, or one of the tree). */
static void ui_name_of(ui_check *c, pid_t pid, char *buf, size_t cap) {
  const ui_cproc *r = ui_proc(c, pid);
  ssize_t k = ft_tree_find(&c->tree, pid);
  snprintf(buf, cap, "%s(%d)",
           pid == c->self ? "forktop"
           : k >= 0       ? c->tree.procs[k].comm
           : r            ? r->comm
                          : "?",
           (int)pid);
}

/* The real ancestry of pid, from forktop down, each process with the
 * parent that forked it (not the one that holds it after reparenting):
 * into e as "parents" (text), "chain" (from forktop's child down) and
 * "real_ppid", "reparented_to". */
static void ui_chain(ui_check *c, pid_t pid, json_t *e) {
  pid_t v[64];
  int n = 0;
  bool unknown = false; /* the real parent exited before any scan saw this one */
  for (pid_t p = pid; n < 64;) {
    v[n++] = p;
    const ui_cproc *r = ui_proc(c, p);
    ssize_t k = ft_tree_find(&c->tree, p);
    pid_t up = r ? r->ppid : k >= 0 ? c->tree.procs[k].ppid : 0;
    /* forktop forks the command only: any other process it holds was
     * reparented before it was seen (scanning, or connector messages lost) */
    if (up == c->self && p != c->root)
      unknown = true;
    if (up <= 0 || up == c->self || unknown || (!ui_proc(c, up) && ft_tree_find(&c->tree, up) < 0))
      break;
    p = up;
  }
  ft_buf b = {0};
  json_t *chain = json_array();
  char name[128];
  ui_name_of(c, c->self, name, sizeof name);
  ft_buf_printf(&b, "%s", name);
  if (unknown)
    ft_buf_printf(&b, " > ?(real parent unseen: it exited before a scan found the child)");
  for (int i = n - 1; i >= 0; i--) {
    const ui_cproc *r = ui_proc(c, v[i]);
    ssize_t k = ft_tree_find(&c->tree, v[i]);
    bool alive = k >= 0 && c->tree.procs[k].state != 'Z';
    const char *comm = k >= 0 ? c->tree.procs[k].comm : r ? r->comm : "?";
    pid_t born = r ? r->ppid : k >= 0 ? c->tree.procs[k].ppid : 0;
    pid_t now = k >= 0 ? c->tree.procs[k].ppid : 0;
    ft_buf_printf(&b, " > %s(%d)", comm, (int)v[i]);
    if (!alive)
      ft_buf_printf(&b, " [exited]");
    json_t *o =
        json_pack("{s:i,s:o,s:b}", "pid", (int)v[i], "comm", ui_check_str(comm), "exited", !alive);
    if (alive && now > 0 && born > 0 && now != born && !(unknown && i == n - 1)) {
      ui_name_of(c, now, name, sizeof name);
      ft_buf_printf(&b, " [reparented to %s]", name);
      json_object_set_new(o, "reparented_to", json_integer(now));
    }
    json_array_append_new(chain, o);
  }
  const ui_cproc *r = ui_proc(c, pid);
  json_object_set_new(e, "real_ppid", r && !unknown ? json_integer(r->ppid) : json_null());
  json_object_set_new(e, "parents", ui_check_strn(b.data ? b.data : "", b.len));
  json_object_set_new(e, "chain", chain);
  ft_buf_free(&b);
}

/* ------------------------------------------------------------- report */

/* Processes of the tree still running, with their real ancestry. */
static size_t ui_report_procs(ui_check *c, json_t *procs) {
  size_t leaks = 0;
  for (size_t i = 0; i < c->tree.n; i++) {
    const ft_tree_proc *t = &c->tree.procs[i];
    if (t->state == 'Z')
      continue;
    char cmdline[512];
    ft_tree_cmdline(t->pid, cmdline, sizeof cmdline);
    json_t *e =
        json_pack("{s:i,s:i,s:o,s:o}", "pid", (int)t->pid, "ppid", (int)t->ppid, "comm",
                  ui_check_str(t->comm), "cmdline", ui_check_str(cmdline[0] ? cmdline : t->comm));
    ui_chain(c, t->pid, e);
    json_object_set_new(e, "age", json_real(ft_tree_age(t->start_ticks)));
    json_object_set_new(e, "orphan", json_boolean(t->ppid == c->self && t->pid != c->root));
    json_array_append_new(procs, e);
    leaks++;
  }
  return leaks;
}

/* Zombies a parent did not reap (in time, or ever). */
static size_t ui_report_zombies(ui_check *c, json_t *zombies) {
  size_t leaks = 0;
  for (size_t k = 0; k < c->nzombies; k++) {
    ui_zombie *z = &c->zombies[k];
    bool still = false;
    for (size_t i = 0; i < c->tree.n; i++)
      still |= c->tree.procs[i].pid == z->pid && c->tree.procs[i].state == 'Z';
    uint64_t dur = (still ? ft_now_ns() : z->last) - z->first;
    /* Reaped within UI_ZOMBIE_NS is no leak, by its parent (if a little
     * late) or, its parent exiting, by the subreaper at once: a parent may
     * exit without waiting for a child that ended as it did (srun's
     * shepherd, a helper that exits when srun is done, is a zombie of
     * srun's for the few ms until srun exits). */
    if (!still && dur < UI_ZOMBIE_NS)
      continue;
    json_array_append_new(zombies, json_pack("{s:i,s:o,s:i,s:o,s:f,s:s}", "pid", (int)z->pid,
                                             "comm", ui_check_str(z->comm), "parent_pid",
                                             (int)z->ppid, "parent", ui_check_str(z->parent),
                                             "unreaped_for", (double)dur / 1e9, "fate",
                                             still         ? "still a zombie"
                                             : z->orphaned ? "parent exited; reaped by forktop"
                                                           : "reaped late"));
    leaks++;
  }
  return leaks;
}

/* --kill: SIGTERM, up to two seconds, SIGKILL. */
static json_t *ui_kill_leaks(ui_check *c, json_t *procs) {
  json_t *killed = json_array(), *v;
  size_t i;
  json_array_foreach(procs, i, v)
      kill((pid_t)json_integer_value(json_object_get(v, "pid")), SIGTERM);
  uint64_t until = ft_now_ns() + 2000000000ull;
  bool left = json_array_size(procs) > 0;
  while (left && ft_now_ns() < until) {
    usleep(20000);
    ft_loop_run(c->loop, FT_RUN_NOWAIT); /* reap the orphans among them */
    left = false;
    json_array_foreach(procs, i, v) left |=
        kill((pid_t)json_integer_value(json_object_get(v, "pid")), 0) == 0;
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
  return killed;
}

/* Run the check; returns the exit status. */
int ui_check_run(char *const *argv, const ui_check_opts *o) {
  ui_check c = {.self = getpid()};
  ft_process *p = NULL;
  ft_timer *scan = NULL, *grace = NULL;
  ft_watch *w = NULL;
  int status = 1, rc;
  json_t *report = NULL;
  if ((rc = ft_loop_new(&c.loop)) < 0 || (rc = ft_timer_new(c.loop, &scan)) < 0 ||
      (rc = ft_timer_new(c.loop, &grace)) < 0 || (rc = ui_ipc_new(c.loop, &c.ipc)) < 0) {
    fprintf(stderr, "forktop: %s\n", ft_strerror(rc));
    goto done;
  }
  ft_loop_add_hook(c.loop, ui_check_hook, &c);
  /* Everything the command starts is a descendant of forktop (what it
   * leaves behind comes back to us): watched before it starts, so that
   * every fork is seen with the parent that made it. */
  if ((rc = ft_watch_new(c.loop, c.self, true, &w)) < 0) {
    fprintf(stderr, "forktop: cannot watch: %s\n", ft_strerror(rc));
    goto done;
  }
  c.connector = strcmp(ft_watch_mode(w), "connector") == 0;
  /* The command talks to the terminal as usual; with --json its stdout goes
   * to stderr, so that stdout holds the report alone. */
  ft_process_opts po = {.argv = argv,
                        .role = "checked",
                        .out = {.mode = FT_STDIO_INHERIT},
                        .err = {.mode = FT_STDIO_INHERIT},
                        .in = {.mode = FT_STDIO_INHERIT}};
  if (o->json)
    po.out = (ft_stdio){.mode = FT_STDIO_FD, .fd = 2};
  if ((rc = ft_process_new(c.loop, &po, &p)) < 0 || (rc = ft_process_start(p)) < 0) {
    ft_buf name = {0};
    ui_sanitize(argv[0], strlen(argv[0]), &name);
    fprintf(stderr, "forktop: cannot run %.*s: %s\n", (int)name.len, name.data ? name.data : "",
            ft_strerror(rc));
    ft_buf_free(&name);
    goto done;
  }
  c.root = ft_process_pid(p);
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
  report = json_object();
  json_t *cmd = json_array(), *procs = json_array(), *zombies = json_array(), *shm = json_array(),
         *ipc = json_array(), *other = json_array();
  for (char *const *a = argv; *a; a++)
    json_array_append_new(cmd, ui_check_str(*a));
  json_object_set_new(report, "command", cmd);
  if (code < 0)
    json_object_set_new(report, "signal", json_string(ft_signal_name(-code)));
  else
    json_object_set_new(report, "exit_code", json_integer(code));
  json_object_set_new(report, "runtime", json_real(runtime));
  json_object_set_new(report, "grace", json_real(o->grace));
  json_object_set_new(report, "watch", json_string(ft_watch_mode(w)));
  json_object_set_new(report, "shm_evidence", json_string(ui_ipc_evidence(c.ipc)));
  size_t leaks = ui_report_procs(&c, procs) + ui_report_zombies(&c, zombies);
  ui_ipc_report(c.ipc, ui_who, &c, shm, ipc, other, &leaks);
  json_object_set_new(report, "leaked_processes", procs);
  json_object_set_new(report, "zombies", zombies);
  json_object_set_new(report, "shm", shm);
  json_object_set_new(report, "sysv_ipc", ipc);
  json_object_set_new(report, "not_attributed", other);
  json_object_set_new(report, "killed", o->kill ? ui_kill_leaks(&c, procs) : json_array());
  status = leaks ? 3 : 0;
  json_object_set_new(report, "leaks", json_integer((json_int_t)leaks));
  json_object_set_new(report, "exit_status", json_integer(status));
  if (o->json) {
    json_dumpf(report, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    printf("\n");
  } else {
    ui_check_print(report, stdout);
  }
  if (!o->kill)
    ft_loop_disown(c.loop); /* leave the leaks running: they were reported, not ours to end */
done:
  json_decref(report);
  ft_watch_free(w);
  ui_ipc_free(c.ipc);
  ft_timer_free(scan);
  ft_timer_free(grace);
  ft_process_free(p);
  ft_loop_free(c.loop);
  ft_tree_free(&c.tree);
  free(c.zombies);
  free(c.procs);
  return status;
}
