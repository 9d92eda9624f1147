/* ui_check_ipc.c - which shared-memory and SysV IPC objects a checked
 * command left behind, by evidence and not by a before/after diff of the
 * whole system (another program's segment made during the check is not
 * the command's leak).
 *
 * /dev/shm: a fanotify watch on the directory (root, Linux 5.9+) reports
 * every creation and removal in it with the pid of the process that did
 * it; an object that is new since the start, still there at the end, and
 * was last created by a process of the command's tree is a leak.  Where
 * fanotify cannot be had (or lost events), the evidence is weaker: the
 * files the tree's live processes hold open (/proc/PID/fd) or mapped
 * (/proc/PID/maps), sampled on every scan, so a segment made and closed
 * between two scans by a process that then exits is missed (it is then
 * listed as not attributed, never counted).
 *
 * SysV: the kernel records the creator of a shared memory segment (cpid
 * in /proc/sysvipc/shm).  For a message queue it records only the last
 * sender and receiver (lspid, lrpid), for a semaphore set only the last
 * process to operate on each semaphore (semctl GETPID): those count as
 * evidence; an object nobody of the tree touched that way is listed as
 * not attributed.  Pids are matched against every process the tree had. */
#include "ui_check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_tree.h"

#define UI_SHM_DIR "/dev/shm"

typedef struct ui_seg {
  char name[256]; /* within /dev/shm */
  uint64_t ino, size;
  pid_t pid;      /* the creator (fanotify) or a holder (/proc) */
  uint64_t start; /* its start time in ticks, 0 unknown */
} ui_seg;

typedef struct ui_seglist {
  ui_seg *v;
  size_t n, cap;
} ui_seglist;

typedef struct ui_sysv {
  int kind; /* 0 shm, 1 sem, 2 msg */
  long long key, id, size;
  pid_t pids[2]; /* shm: creator, last; msg: last sender, receiver */
} ui_sysv;

struct ui_ipc {
  ft_loop *loop;
  int fan;         /* the fanotify descriptor, or -1 */
  bool lost;       /* fanotify dropped events: /proc evidence counts too */
  bool blind;      /* fanotify does not say who (pid 0): /proc evidence */
  ui_seglist base; /* /dev/shm at the start */
  ui_seglist made; /* the latest creator of each name (fanotify) */
  ui_seglist held; /* names and inodes the tree held (/proc) */
  ui_sysv *sbase;  /* SysV objects at the start */
  size_t nsbase;
};

static const char *const ui_kinds[] = {"shm", "sem", "msg"};

static ui_seg *ui_seg_add(ui_seglist *l) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    ui_seg *v = realloc(l->v, cap * sizeof *v);
    if (!v)
      return NULL;
    l->v = v;
    l->cap = cap;
  }
  memset(&l->v[l->n], 0, sizeof l->v[0]);
  return &l->v[l->n++];
}

static ui_seg *ui_seg_find(ui_seglist *l, const char *name, uint64_t ino) {
  for (size_t i = l->n; i-- > 0;)
    if (strcmp(l->v[i].name, name) == 0 && (!ino || l->v[i].ino == ino))
      return &l->v[i];
  return NULL;
}

static uint64_t ui_start_of(pid_t pid) {
  ft_tree_proc tp;
  return pid > 0 && ft_tree_read(pid, &tp) == 0 ? tp.start_ticks : 0;
}

/* The objects in /dev/shm now. */
static void ui_shm_list(ui_seglist *l) {
  DIR *d = opendir(UI_SHM_DIR);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    struct stat st;
    ui_seg *s;
    if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
        !(s = ui_seg_add(l)))
      continue;
    snprintf(s->name, sizeof s->name, "%s", e->d_name);
    s->ino = (uint64_t)st.st_ino;
    s->size = (uint64_t)st.st_size;
  }
  if (d)
    closedir(d);
}

/* SysV objects now, from /proc/sysvipc; *n of them in a malloc'd array. */
static ui_sysv *ui_sysv_list(size_t *n) {
  ui_sysv *v = NULL;
  size_t cap = 0;
  *n = 0;
  for (int k = 0; k < 3; k++) {
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/sysvipc/%s", ui_kinds[k]);
    FILE *f = fopen(path, "re");
    if (!f)
      continue;
    bool header = true;
    while (fgets(line, sizeof line, f)) {
      ui_sysv o = {.kind = k};
      int a = 0, b = 0;
      if (header) {
        header = false;
        continue;
      }
      /* shm: key id perms size cpid lpid; msg: key id perms cbytes qnum lspid lrpid */
      if (k == 0 && sscanf(line, "%lld %lld %*o %lld %d %d", &o.key, &o.id, &o.size, &a, &b) < 5)
        continue;
      if (k == 1 && sscanf(line, "%lld %lld %*o %lld", &o.key, &o.id, &o.size) < 3)
        continue; /* size is nsems here */
      if (k == 2 &&
          sscanf(line, "%lld %lld %*o %lld %*d %d %d", &o.key, &o.id, &o.size, &a, &b) < 5)
        continue;
      o.pids[0] = a;
      o.pids[1] = b;
      if (*n == cap) {
        cap = cap ? cap * 2 : 32;
        ui_sysv *nv = realloc(v, cap * sizeof *nv);
        if (!nv)
          break;
        v = nv;
      }
      v[(*n)++] = o;
    }
    fclose(f);
  }
  return v;
}

/* ------------------------------------------------------------ fanotify */

/* stat of /dev/shm/name, not following a symlink. */
static int ui_stat_in(const char *name, struct stat *st) {
  char p[300];
  snprintf(p, sizeof p, UI_SHM_DIR "/%s", name);
  return lstat(p, st) < 0 ? -errno : 0;
}

/* The name a DFID_NAME record of event ev (ev_len bytes) carries, or NULL.
 * Events are packed back to back with no padding, so nothing in them is
 * aligned: every field is copied out, never read through a cast pointer. */
static const char *ui_fan_name(const char *ev, size_t ev_len) {
  for (size_t off = FAN_EVENT_METADATA_LEN;
       off + sizeof(struct fanotify_event_info_header) <= ev_len;) {
    struct fanotify_event_info_header h;
    memcpy(&h, ev + off, sizeof h);
    if (h.len == 0 || off + h.len > ev_len)
      return NULL;
    if (h.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME) {
      /* header, fsid, then a struct file_handle: handle_bytes, handle_type,
       * the handle, then the name */
      size_t fh = off + sizeof(struct fanotify_event_info_fid);
      uint32_t handle_bytes;
      if (fh + 8 > off + h.len)
        return NULL;
      memcpy(&handle_bytes, ev + fh, sizeof handle_bytes);
      if (fh + 8 + handle_bytes >= off + h.len)
        return NULL;
      return ev + fh + 8 + handle_bytes;
    }
    off += h.len;
  }
  return NULL;
}

static void ui_fan_event(ui_ipc *x, const struct fanotify_event_metadata *m, const char *name) {
  if (!name || strcmp(name, ".") == 0)
    return;
  ui_seg *s = ui_seg_find(&x->made, name, 0);
  if (m->mask & (FAN_CREATE | FAN_MOVED_TO)) {
    if (!s && !(s = ui_seg_add(&x->made)))
      return;
    snprintf(s->name, sizeof s->name, "%s", name);
    x->blind |= m->pid <= 0; /* not told who: the samples must say it */
    s->pid = m->pid;
    s->start = ui_start_of(m->pid);
    /* the file it made, if it is still there: a later one of the same
     * name whose making was not seen (events lost) is not this one */
    struct stat st;
    s->ino = ui_stat_in(name, &st) == 0 ? (uint64_t)st.st_ino : 0;
  } else if (s) {
    s->pid = 0; /* removed: whoever makes it next is its creator */
  }
}

/* Read what fanotify has: each creation remembers its creator, each
 * removal forgets it.  Events of one fanotify queue come in order; two
 * identical events still queued merge their masks (a creation and a
 * removal by the same process arrive as one), which is why a mask with a
 * creation in it counts as a creation: whatever the order, that process
 * made the name, and the listing at the end says whether it is still there. */
static void ui_fan_drain(ui_ipc *x) {
  char buf[8192] __attribute__((aligned(8)));
  for (;;) {
    ssize_t n = read(x->fan, buf, sizeof buf);
    if (n <= 0)
      return;
    for (size_t pos = 0; pos + FAN_EVENT_METADATA_LEN <= (size_t)n;) {
      struct fanotify_event_metadata m;
      memcpy(&m, buf + pos, sizeof m);
      if (m.event_len < FAN_EVENT_METADATA_LEN || pos + m.event_len > (size_t)n)
        break;
      if (m.fd >= 0)
        close(m.fd);
      if (m.mask & FAN_Q_OVERFLOW)
        x->lost = true;
      else
        ui_fan_event(x, &m, ui_fan_name(buf + pos, m.event_len));
      pos += m.event_len;
    }
  }
}

static void ui_fan_ready(int fd, uint32_t events, void *ud) {
  (void)fd;
  (void)events;
  ui_fan_drain(ud);
}

/* Whether fanotify will name the process behind each event: it does for a
 * listener with CAP_SYS_ADMIN in the first user namespace only (others get
 * pid 0). */
static bool ui_fan_names_pids(void) {
  char line[256];
  unsigned long long caps = 0, a = 1, b = 1, n = 0;
  FILE *f = fopen("/proc/self/status", "re");
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "CapEff: %llx", &caps) == 1)
      break;
  if (f)
    fclose(f);
  f = fopen("/proc/self/uid_map", "re");
  if (f && fscanf(f, "%llu %llu %llu", &a, &b, &n) != 3)
    n = 0;
  if (f)
    fclose(f);
  return (caps >> 21 & 1) && a == 0 && b == 0 && n == 4294967295ull;
}

/* Watch /dev/shm with fanotify; -errno when it cannot be had. */
static int ui_fan_open(ui_ipc *x) {
  int fd =
      fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY);
  if (fd < 0)
    return -errno;
  int rc = fanotify_mark(fd, FAN_MARK_ADD, FAN_CREATE | FAN_DELETE | FAN_MOVED_TO | FAN_MOVED_FROM,
                         AT_FDCWD, UI_SHM_DIR) < 0
               ? -errno
               : ft_loop_watch_fd(x->loop, fd, false, ui_fan_ready, x);
  if (rc < 0) {
    close(fd);
    return rc;
  }
  x->fan = fd;
  x->blind = !ui_fan_names_pids();
  return 0;
}

/* ---------------------------------------------------------------- /proc */

static void ui_hold(ui_ipc *x, const char *name, uint64_t ino, pid_t pid) {
  ui_seg *s;
  if (ui_seg_find(&x->held, name, ino) || !(s = ui_seg_add(&x->held)))
    return;
  snprintf(s->name, sizeof s->name, "%s", name);
  s->ino = ino;
  s->pid = pid;
  s->start = ui_start_of(pid);
}

/* The /dev/shm files pid holds open or mapped (removed ones excepted). */
static void ui_proc_holds(ui_ipc *x, pid_t pid) {
  static const char prefix[] = UI_SHM_DIR "/";
  char path[64], link[512], line[1024];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  DIR *d = opendir(path);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    char fdpath[300];
    struct stat st;
    snprintf(fdpath, sizeof fdpath, "/proc/%d/fd/%s", (int)pid, e->d_name);
    ssize_t n = readlink(fdpath, link, sizeof link - 1);
    if (n <= 0)
      continue;
    link[n] = '\0';
    if (strncmp(link, prefix, sizeof prefix - 1) != 0 || strstr(link, " (deleted)") ||
        stat(fdpath, &st) < 0)
      continue;
    ui_hold(x, link + sizeof prefix - 1, (uint64_t)st.st_ino, pid);
  }
  if (d)
    closedir(d);
  snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
  FILE *f = fopen(path, "re");
  while (f && fgets(line, sizeof line, f)) {
    unsigned long long ino;
    int at = 0;
    /* start-end perms offset dev inode path */
    if (sscanf(line, "%*s %*s %*s %*s %llu %n", &ino, &at) < 1 || !at)
      continue;
    char *p = line + at;
    p[strcspn(p, "\n")] = '\0';
    if (strncmp(p, prefix, sizeof prefix - 1) == 0 && !strstr(p, " (deleted)"))
      ui_hold(x, p + sizeof prefix - 1, ino, pid);
  }
  if (f)
    fclose(f);
}

/* ------------------------------------------------------------------ API */

/* Every creation in /dev/shm was seen with its creator. */
static bool ui_creators(const ui_ipc *x) { return x->fan >= 0 && !x->lost && !x->blind; }

/* Note what exists now and start watching /dev/shm. */
int ui_ipc_new(ft_loop *loop, ui_ipc **out) {
  ui_ipc *x = calloc(1, sizeof *x);
  *out = NULL;
  if (!x)
    return -ENOMEM;
  x->loop = loop;
  x->fan = -1;
  ui_fan_open(x); /* not permitted or not supported: /proc evidence */
  ui_shm_list(&x->base);
  x->sbase = ui_sysv_list(&x->nsbase);
  *out = x;
  return 0;
}

/* "creator" (fanotify saw every creation) or "holder" (/proc samples). */
const char *ui_ipc_evidence(const ui_ipc *x) { return ui_creators(x) ? "creator" : "holder"; }

/* One scan of the tree's live processes: without fanotify, what they hold. */
void ui_ipc_sample(ui_ipc *x, const pid_t *pids, size_t n) {
  if (ui_creators(x))
    return;
  for (size_t i = 0; i < n; i++)
    ui_proc_holds(x, pids[i]);
}

static void ui_add(json_t *a, const char *key, const char *what, uint64_t bytes, pid_t pid,
                   const char *comm, const char *evidence) {
  json_t *o = json_object();
  json_object_set_new(o, key, ui_check_str(what));
  json_object_set_new(o, "bytes", json_integer((json_int_t)bytes));
  if (pid > 0) {
    json_object_set_new(o, "pid", json_integer(pid));
    json_object_set_new(o, "comm", ui_check_str(comm ? comm : "?"));
  }
  json_object_set_new(o, "evidence", ui_check_str(evidence));
  json_array_append_new(a, o);
}

/* Decide each object new since the start: a leak of the tree (into shm or
 * sysv, counted in *leaks) or not attributed (into other). */
void ui_ipc_report(ui_ipc *x, ui_who_fn who, void *ud, json_t *shm, json_t *sysv, json_t *other,
                   size_t *leaks) {
  ui_seglist now = {0};
  char what[512], why[256];
  if (x->fan >= 0)
    ui_fan_drain(x);
  ui_shm_list(&now);
  for (size_t i = 0; i < now.n; i++) {
    const ui_seg *s = &now.v[i];
    if (ui_seg_find(&x->base, s->name, s->ino))
      continue; /* there before the command started */
    snprintf(what, sizeof what, UI_SHM_DIR "/%s", s->name);
    const ui_seg *m = x->fan >= 0 ? ui_seg_find(&x->made, s->name, 0) : NULL;
    const ui_seg *h = ui_seg_find(&x->held, s->name, s->ino);
    const char *c;
    if (m && (m->ino && m->ino != s->ino))
      m = NULL; /* the one whose making was seen is gone */
    if (m && m->pid > 0 && (c = who(m->pid, m->start, ud))) {
      ui_add(shm, "path", what, s->size, m->pid, c, "created by a process of the command");
      ++*leaks;
    } else if ((!m || m->pid <= 0) && h && (c = who(h->pid, h->start, ud))) {
      ui_add(shm, "path", what, s->size, h->pid, c,
             "held open or mapped by a process of the command");
      ++*leaks;
    } else {
      if (m && m->pid > 0)
        snprintf(why, sizeof why, "created by pid %d, not a process of the command", (int)m->pid);
      else
        snprintf(why, sizeof why, "%s",
                 ui_creators(x) ? "its creation was not seen"
                                : "no process of the command was seen holding it");
      ui_add(other, "object", what, s->size, 0, NULL, why);
    }
  }
  free(now.v);

  size_t n = 0;
  ui_sysv *v = ui_sysv_list(&n);
  for (size_t i = 0; i < n; i++) {
    const ui_sysv *o = &v[i];
    bool old = false;
    for (size_t k = 0; k < x->nsbase && !old; k++)
      old = x->sbase[k].kind == o->kind && x->sbase[k].id == o->id;
    if (old)
      continue;
    snprintf(what, sizeof what, "%s id %lld key 0x%08x", ui_kinds[o->kind], o->id,
             (unsigned)o->key);
    pid_t pid = 0;
    const char *c = NULL, *evidence = NULL;
    if (o->kind == 0 && (c = who(pid = o->pids[0], 0, ud))) {
      evidence = "created by a process of the command";
    } else if (o->kind == 2) {
      for (int k = 0; k < 2 && !c; k++)
        c = who(pid = o->pids[k], 0, ud);
      evidence = "last sent to or received from by a process of the command";
    } else if (o->kind == 1) {
      for (long long s = 0; s < o->size && !c; s++) {
        int r = semctl((int)o->id, (int)s, GETPID);
        if (r > 0)
          c = who(pid = r, 0, ud);
      }
      evidence = "last operated on by a process of the command";
    }
    if (c) {
      ui_add(sysv, "object", what, o->kind == 0 ? (uint64_t)o->size : 0, pid, c, evidence);
      ++*leaks;
    } else {
      if (o->kind == 0)
        snprintf(why, sizeof why, "created by pid %d, not a process of the command",
                 (int)o->pids[0]);
      else
        snprintf(
            why, sizeof why, "%s",
            o->kind == 2
                ? "the kernel keeps no creator; no process of the command sent or received on it"
                : "the kernel keeps no creator; no process of the command operated on it");
      ui_add(other, "object", what, o->kind == 0 ? (uint64_t)o->size : 0, 0, NULL, why);
    }
  }
  free(v);
}

/* Stop watching and release. */
void ui_ipc_free(ui_ipc *x) {
  if (!x)
    return;
  if (x->fan >= 0) {
    ft_loop_unwatch_fd(x->loop, x->fan);
    close(x->fan);
  }
  free(x->base.v);
  free(x->made.v);
  free(x->held.v);
  free(x->sbase);
  free(x);
}
