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

enum { FT__I_PID, FT__I_PPID, FT__I_STATE, FT__I_NLWP, FT__I_TICS, FT__I_RSS };

struct ft_scan {
  struct pids_info *info;
  unsigned *pids;
  size_t cap;
  size_t cursor; /* where the rotating slice goes on from */
  size_t last_count;
  unsigned long page_kb;
};

/* Make a scanner. */
int ft_scan_new(ft_scan **out) {
  enum pids_item items[] = {PIDS_ID_PID, PIDS_ID_PPID,  PIDS_STATE,
                            PIDS_NLWP,   PIDS_TICS_ALL, PIDS_RSS};
  ft_scan *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  int rc = procps_pids_new(&s->info, items, (int)(sizeof items / sizeof items[0]));
  if (rc < 0 || !s->info) {
    free(s);
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

static void ft__scan_batch(ft_scan *s, ft_model *m, unsigned *pids, size_t n, uint64_t now) {
  struct pids_fetch *f = procps_pids_select(s->info, pids, (int)n, PIDS_SELECT_PID);
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
    };
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
  size_t asked = k;
  if (extra) {
    const ft_model_snap *snap = ft_model_snapshot(m);
    size_t total = snap->nprocs;
    for (size_t step = 0; step < total && k < asked + extra; step++) {
      const ft_mproc *p = &snap->procs[(s->cursor + step) % total];
      unsigned pid = (unsigned)p->pid;
      if (p->exited || p->host != 0 || p->pid <= 0 ||
          bsearch(&pid, s->pids, asked, sizeof *s->pids, ft__cmp_uint))
        continue;
      s->pids[k++] = pid;
      if (k == asked + extra)
        s->cursor = (s->cursor + step + 1) % total;
    }
  }
  for (size_t off = 0; off < k; off += FT__SCAN_BATCH)
    ft__scan_batch(s, m, s->pids + off, k - off < FT__SCAN_BATCH ? k - off : FT__SCAN_BATCH, now);
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
  procps_pids_unref(&s->info);
  free(s->pids);
  free(s);
}
