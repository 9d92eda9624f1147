/* ft_scan.c - libproc2 reads of the processes someone is looking at.
 *
 * A full /proc walk costs about 12 us a process; at 2,000 processes and ten
 * frames a second that alone is a quarter of a core.  The tree is known
 * from events, so this reads only the pids it is given (the rows on
 * screen) plus a small rotating slice of the other live processes, which
 * keeps the totals of the whole tree fresh within a few seconds.  Every
 * item asked for comes from /proc/PID/stat: one file per process. */
#include "ft_model.h"
#include "ft_tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libproc2/pids.h>

/* procps_pids_select takes at most this many pids at once */
#define FT__SCAN_BATCH 200

enum {
  FT__I_PID,
  FT__I_PPID,
  FT__I_STATE,
  FT__I_NLWP,
  FT__I_TICS,
  FT__I_RSS,
  /* the rich read only */
  FT__I_EUID,
  FT__I_EUSER,
  FT__I_NICE,
  FT__I_IOR,
  FT__I_IOW,
  FT__I_CMDLINE
};

struct ft_scan {
  struct pids_info *info;
  struct pids_info *rich; /* the same and user, nice, I/O, command line: rows on screen */
  unsigned *pids;
  size_t cap;
  size_t cursor; /* where the rotating slice goes on from */
  size_t last_count;
  unsigned long page_kb;
};

/* Make a scanner. */
int ft_scan_new(ft_scan **out) {
  enum pids_item items[] = {PIDS_ID_PID,   PIDS_ID_PPID,       PIDS_STATE,          PIDS_NLWP,
                            PIDS_TICS_ALL, PIDS_RSS,           PIDS_ID_EUID,        PIDS_ID_EUSER,
                            PIDS_NICE,     PIDS_IO_READ_BYTES, PIDS_IO_WRITE_BYTES, PIDS_CMDLINE};
  ft_scan *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  int rc = procps_pids_new(&s->info, items, FT__I_RSS + 1);
  if (rc < 0 || !s->info) {
    free(s);
    return rc < 0 ? rc : -ENOMEM;
  }
  rc = procps_pids_new(&s->rich, items, (int)(sizeof items / sizeof items[0]));
  if (rc < 0 || !s->rich) {
    ft_scan_free(s);
    return rc < 0 ? rc : -ENOMEM;
  }
  long page = sysconf(_SC_PAGESIZE);
  s->page_kb = page > 0 ? (unsigned long)page / 1024 : 4;
  *out = s;
  return 0;
}

static int ft__cmp_uint(const void *a, const void *b) {
  unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
  return x < y ? -1 : x > y;
}

static int ft__scan_reserve(ft_scan *s, size_t n) {
  if (n <= s->cap)
    return 0;
  unsigned *p = realloc(s->pids, n * sizeof *p);
  if (!p)
    return -ENOMEM;
  s->pids = p;
  s->cap = n;
  return 0;
}

static void ft__scan_batch(ft_scan *s, ft_model *m, unsigned *pids, size_t n, bool rich,
                           uint64_t now) {
  struct pids_fetch *f =
      procps_pids_select(rich ? s->rich : s->info, pids, (int)n, PIDS_SELECT_PID);
  if (!f || !f->counts)
    return;
  for (int i = 0; i < f->counts->total; i++) {
    struct pids_stack *st = f->stacks[i];
    ft_mstat ms = {
        .pid = st->head[FT__I_PID].result.s_int,
        .ppid = st->head[FT__I_PPID].result.s_int,
        .state = (char)st->head[FT__I_STATE].result.s_ch,
        .threads = st->head[FT__I_NLWP].result.s_int,
        .ticks = st->head[FT__I_TICS].result.ull_int,
        .rss_kb = st->head[FT__I_RSS].result.ul_int * s->page_kb,
        .rich = rich,
    };
    if (rich) {
      ms.uid = st->head[FT__I_EUID].result.u_int;
      ms.user = st->head[FT__I_EUSER].result.str;
      ms.nice = st->head[FT__I_NICE].result.s_int;
      ms.io_r = st->head[FT__I_IOR].result.ul_int;
      ms.io_w = st->head[FT__I_IOW].result.ul_int;
      ms.io_known = true;
      /* libproc2 shows a process without a command line (a zombie, a
       * kernel thread) as "[name]": that is not an argv */
      const char *cl = st->head[FT__I_CMDLINE].result.str;
      ms.args = cl && cl[0] != '[' ? cl : NULL;
    }
    ft_model_set_stat(m, &ms, now);
    s->last_count++;
  }
}

/* Read the live processes among pids and a rotating slice of the others. */
int ft_scan_update(ft_scan *s, ft_model *m, const pid_t *pids, size_t n, size_t extra,
                   uint64_t now) {
  s->last_count = 0;
  if (ft__scan_reserve(s, n + extra + 1) < 0)
    return -ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (pids[i] > 0 && ft_model_alive(m, pids[i]))
      s->pids[k++] = (unsigned)pids[i];
  qsort(s->pids, k, sizeof *s->pids, ft__cmp_uint);
  size_t asked = k, nrich = 0;
  if (extra) {
    const ft_model_snap *snap = ft_model_snapshot(m);
    size_t total = snap->nprocs;
    for (size_t step = 0; step < total && k < asked + extra; step++) {
      const ft_mproc *p = &snap->procs[(s->cursor + step) % total];
      unsigned pid = (unsigned)p->pid;
      if (p->exited || p->host != 0 || p->pid <= 0 ||
          bsearch(&pid, s->pids, asked, sizeof *s->pids, ft__cmp_uint))
        continue;
      /* A few of the slice that were never read richly are (their command
       * line, for a filter to match): a quarter of the slice at most, so
       * each process is read once that way within a few seconds and the
       * cost stays with the slice. */
      if (!p->rich && nrich < extra / 4) {
        s->pids[k++] = s->pids[asked + nrich];
        s->pids[asked + nrich++] = pid;
      } else {
        s->pids[k++] = pid;
      }
      if (k == asked + extra)
        s->cursor = (s->cursor + step + 1) % total;
    }
  }
  /* the pids asked for (rows on screen) and the slice's first rich reads
   * richly, the rest of the slice plainly */
  size_t rich_end = asked + nrich;
  for (size_t off = 0; off < k;) {
    size_t end = off + FT__SCAN_BATCH < k ? off + FT__SCAN_BATCH : k;
    if (off < rich_end && end > rich_end)
      end = rich_end;
    ft__scan_batch(s, m, s->pids + off, end - off, off < rich_end, now);
    off = end;
  }
  /* Zombies stay marked until their parent reaps them (or dies, and the
   * subreaper does): then /proc no longer shows them as zombies. */
  const ft_model_snap *snap = ft_model_snapshot(m);
  for (size_t i = 0; i < snap->nprocs; i++) {
    const ft_mproc *p = &snap->procs[i];
    if (!p->zombie || p->host != 0)
      continue;
    ft_tree_proc tp;
    if (ft_tree_read(p->pid, &tp) < 0 || tp.state != 'Z')
      ft_model_zombie_gone(m, p->pid);
  }
  return 0;
}

/* How many processes the last update read. */
size_t ft_scan_last_count(const ft_scan *s) { return s->last_count; }

/* Free the scanner. */
void ft_scan_free(ft_scan *s) {
  if (!s)
    return;
  if (s->info)
    procps_pids_unref(&s->info);
  if (s->rich)
    procps_pids_unref(&s->rich);
  free(s->pids);
  free(s);
}
