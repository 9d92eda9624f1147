/* ft_spawn_batch.c - a pool's workers forked in one batch, each making its
 * own captured pipes and sending our ends home (ft_child.c forks one). */
#include "ft_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define FT__LATE_GROUP 128 /* children of a batch sending over one socket */
#define FT__SPLIT_MIN 8    /* a batch of this many forks on two CPUs */

/* The socket child i of a batch sends its pipes' ends home over (see
 * ft__spawn_batch), or -1. */
static inline int ft__late_sock(const int *sv, int i) {
  return sv ? sv[2 * (i / FT__LATE_GROUP) + 1] : -1;
}

/* CPUs this thread may run on. */
static int ft__cpus_ours(void) {
  cpu_set_t set;
  return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : ft_cpu_count();
}

/* The second half of a batch, [*mid, n), for its first child to fork
 * (ft__split_forks): their copies in memory it shares, and a pipe for its
 * word that it is done (done[0] ours, done[1] its).  Nothing of the kind
 * when there are too few, one CPU, or no memory or fds for it. */
static void ft__split_begin(const ft__spawn_opts *o, const ft__prep *s, const int *rc,
                            const int *sv, int n, int first, long room, ft__split *sp, int *mid,
                            int done[2]) {
  *mid = n;
  if (first < 0 || n - first < FT__SPLIT_MIN || room < 2 || ft__cpus_ours() < 2)
    return;
  int m = first + 1 + (n - first - 1) / 2;
  size_t len = (size_t)(n - m) * sizeof *sp->slot;
  ft__split_slot *slot = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (slot == MAP_FAILED)
    return;
  if (pipe2(done, O_CLOEXEC) < 0) {
    munmap(slot, len);
    done[0] = done[1] = -1;
    return;
  }
  for (int i = m; i < n; i++) {
    ft__split_slot *sl = &slot[i - m];
    sl->o = o[i];
    sl->s = s[i];
    sl->s.index = rc[i] ? -1 : i;
    sl->sock = ft__late_sock(sv, i);
  }
  *sp = (ft__split){.slot = slot, .n = n - m, .done = done[1]};
  *mid = m;
}

/* Once ours are forked: wait for the first child's word (or its death),
 * take the pids of the siblings it forked, and fork those it did not. */
static void ft__split_end(const ft__spawn_opts *o, ft__prep *s, int *rc, const int *sv, int mid,
                          ft__split *sp, int done[2], ft__forkinfo *fi, bool forker) {
  close(done[1]); /* the forker's copy, and our children's, alone hold it now */
  char one;
  while (forker && read(done[0], &one, 1) < 0 && errno == EINTR) {
  }
  close(done[0]);
  for (int k = 0; k < sp->n; k++) {
    int i = mid + k;
    const ft__split_slot *sl = &sp->slot[k];
    if (rc[i])
      continue;
    if (sl->pid > 0) {
      rc[i] = sl->pid;
      s[i].c->start_ns = sl->start_ns;
      continue;
    }
    fi->sock = ft__late_sock(sv, i);
    rc[i] = ft__spawn_fork(&o[i], &s[i], fi);
  }
  munmap(sp->slot, (size_t)sp->n * sizeof *sp->slot);
}

/* Fork n forked-function children at once (a pool's workers), all keeping
 * the same fds (o[0].keep_fds): every preparation first, then the forks back
 * to back, then the parent's bookkeeping for each.  Between two forks the
 * parent then writes next to nothing, where one at a time it wrote a dozen
 * pages (records, pipes, watches, the pid table) after each fork, every one
 * a copy-on-write fault with a TLB flush sent to the other CPU.
 *
 * Each child makes its own captured pipes and sends our ends home over a
 * socket (ft__child_late_pipes).  Made here, before the forks, they would
 * be inherited by every later sibling, each of which closes all of them:
 * a batch of n would cost n^2 closes (at 4,000 workers, nine tenths of the
 * pool's start-up).  So every child inherits only the fds this process
 * had before the batch.  rc[i] is 0 with out[i] set, or child i's error. */
void ft__spawn_batch(ft_loop *loop, const ft__spawn_opts *o, int n, ft__child **out, int *rc) {
  ft__prep *s = ft__xalloc_nofork((size_t)n * sizeof *s);
  unsigned char *late = ft__xalloc_nofork((size_t)n);
  int(*got)[4] = ft__xalloc_nofork((size_t)n * sizeof *got);
  /* A socket's buffer holds a few hundred messages (278 of these at the
   * usual 208 KiB): a child finding it full would sleep until we read,
   * which we do only after the last fork (each fd we take in before then
   * every later child would inherit and close), so each group of
   * FT__LATE_GROUP children sends over a socket of its own. */
  int ngroups = (n + FT__LATE_GROUP - 1) / FT__LATE_GROUP;
  /* The groups' socket pairs, then the split's pipe (ft__split_begin). */
  int *sv = ft__xalloc_nofork((size_t)(ngroups + 1) * 2 * sizeof *sv);
  int err = !s || !late || !got || !sv ? -ENOMEM : ft__spawn_check(loop);
  for (int g = 0; g <= ngroups && sv; g++)
    sv[2 * g] = sv[2 * g + 1] = -1;
  /* Each child costs us its pidfd and, late, the read end of each
   * captured pipe, and its held end too while fds are numbered below
   * loop->hold_below (ft__stream_adopt); each group its socket pair: what
   * the room does not cover is refused as the pipes made here would have
   * been, with EMFILE.  (Less 2: recvmsg installs a held end before it is
   * let go.) */
  long open = 0, room = err ? 0 : ft__fd_room(&open) - 2;
  for (int i = 0; i < n; i++) {
    rc[i] = err ? err : o[i].target ? ft__spawn_prepare(loop, &o[i], &s[i], true) : FT_EINVAL;
    s[i].index = i;
    if (got)
      got[i][0] = -2; /* nothing came yet */
    long need = i % FT__LATE_GROUP == 0 ? 3 : 1;
    for (int t = 1; t < 3 && !rc[i]; t++)
      if (s[i].io[t].late) {
        late[i] |= (unsigned char)(1u << t);
        need += open + need + 2 < loop->hold_below ? 2 : 1;
      }
    open += need;
    if (!rc[i] && (room -= need) < 0) {
      ft__spawn_abort(loop, &s[i]);
      rc[i] = -EMFILE;
    }
  }
  for (int g = 0; g < ngroups && sv; g++) { /* for the groups with a child to fork */
    int first = g * FT__LATE_GROUP, last = first + FT__LATE_GROUP < n ? first + FT__LATE_GROUP : n;
    bool used = false;
    for (int i = first; i < last; i++)
      used |= rc[i] == 0;
    if (used && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, &sv[2 * g]) < 0)
      for (int i = first, e = -errno; i < last; i++)
        if (!rc[i]) {
          ft__spawn_abort(loop, &s[i]);
          rc[i] = e;
        }
  }
  /* Our children and the forker's alike close the pipe's ends with the
   * loop's fds (they follow the sockets in sv). */
  ft__split split = {0};
  int mid = n, first = 0;
  while (first < n && rc[first])
    first++;
  if (!err && sv)
    ft__split_begin(o, s, rc, sv, n, first < n ? first : -1, room, &split, &mid, &sv[2 * ngroups]);
  ft__fdlist fl = {.fds = fl.inline_fds};
  if (!err &&
      ((err = ft__ptab_reserve(loop, n)) < 0 ||
       (err = ft__loop_child_fds(loop, o[0].keep_fds, o[0].nkeep, sv, 2 * ngroups + 2, &fl)) < 0))
    for (int i = 0; i < n; i++)
      if (!rc[i]) {
        ft__spawn_abort(loop, &s[i]);
        rc[i] = err;
      }
  sigset_t old;
  ft__forkinfo fi;
  ft__fork_begin(loop, &fl, &old, &fi);
  bool forker = false;
  for (int i = 0; i < mid; i++) {
    fi.sock = ft__late_sock(sv, i);
    fi.split = i == first && split.slot ? &split : NULL;
    if (!rc[i])
      rc[i] = ft__spawn_fork(&o[i], &s[i], &fi); /* a pid, for now */
    forker |= fi.split && rc[i] > 0;
  }
  fi.split = NULL;
  if (split.slot)
    ft__split_end(o, s, rc, sv, mid, &split, &sv[2 * ngroups], &fi, forker);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  ft__fdlist_free(&fl);
  for (int g = 0; g < ngroups && sv; g++)
    if (sv[2 * g + 1] >= 0)
      close(sv[2 * g + 1]); /* the children's copies alone keep it open */
  for (int i = 0; i < n; i++) {
    if (rc[i] < 0) {
      if (s && s[i].c)
        ft__spawn_abort(loop, &s[i]);
      continue;
    }
    rc[i] = ft__spawn_finish(loop, &o[i], &s[i], (pid_t)rc[i], &out[i]);
  }
  for (int g = 0; g < ngroups && sv; g++) {
    int have = 0, want = 0;
    for (int i = g * FT__LATE_GROUP; i < n && i < (g + 1) * FT__LATE_GROUP; i++)
      want += rc[i] == 0;
    if (sv[2 * g] >= 0) {
      ft__late_take(sv[2 * g], got, n, &have, want, true);
      close(sv[2 * g]);
    }
  }
  for (int i = 0; got && i < n; i++) {
    if (got[i][0] == -2)
      continue; /* nothing came: its output is not captured */
    for (int t = 1, k = 0; t < 3; t++) {
      if (!(late[i] >> t & 1))
        continue;
      if (!rc[i] && got[i][k] >= 0 && got[i][k + 1] >= 0) {
        ft__stream_adopt(out[i], t, got[i][k], got[i][k + 1]);
        got[i][k] = got[i][k + 1] = -1;
      }
      k += 2;
    }
    for (int k = 0; k < 4; k++) /* what came and was not taken */
      if (got[i][k] >= 0)
        close(got[i][k]);
  }
  ft__xfree_nofork(s, (size_t)n * sizeof *s);
  ft__xfree_nofork(late, (size_t)n);
  ft__xfree_nofork(got, (size_t)n * sizeof *got);
  ft__xfree_nofork(sv, (size_t)(ngroups + 1) * 2 * sizeof *sv);
}
