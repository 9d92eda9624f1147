/* ui_agent.c - `forktop agent --job J`, internal: the per-node agent of a
 * pool with hosts = slurm:N, one task a node of an `srun --overlap` step.
 *
 * Every 500 ms it lists /proc and reports each process of job J on this
 * node (SLURM_JOB_ID=J in its environment; itself, srun and slurmstepd
 * left out) as one line on stdout, which srun carries back to forktop:
 *
 *   p NODE PID PPID STATE THREADS CPU_TENTHS RSS_KB NEW TOP COMM
 *   x NODE PID TOP
 *
 * a sample (CPU in tenths of a % of one CPU since its previous sample,
 * NEW 1 the first time it is seen, TOP 1 for a step's own process, a pool
 * worker, whose parent is slurmstepd) and an exit (a pid seen before and
 * gone).  It ends when its stdin reaches EOF (forktop closed it, or is
 * gone) or its stdout is closed; the step ending kills it too.
 *
 * Cheap: a process's environment is read once, when its pid is new; a
 * known process costs one read of /proc/PID/stat a round.  A pid that
 * vanished from the listing and came back between two rounds (a whole pid
 * wrap in 500 ms) would be taken for the old process; that cannot happen
 * with the pid counts of a node. */
#include "ui.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define UI_AGENT_MS 500

typedef struct ui_aproc {
  int pid;
  bool ours; /* of the job: reported */
  bool top;  /* its parent is slurmstepd: a step's process (a pool worker) */
  bool reported;
  bool recheck;             /* not known to be ours yet: looked at again next round */
  unsigned long long ticks; /* utime + stime at its last sample */
  double at;                /* when (CLOCK_BOOTTIME seconds) */
} ui_aproc;

static int ui_aproc_cmp(const void *a, const void *b) {
  int x = ((const ui_aproc *)a)->pid, y = ((const ui_aproc *)b)->pid;
  return x < y ? -1 : x > y;
}

static double ui_agent_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read a small /proc file into buf (NUL-terminated); its length or -1. */
static ssize_t ui_agent_read(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  size_t len = 0;
  while (len + 1 < cap) {
    ssize_t n = read(fd, buf + len, cap - 1 - len);
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = '\0';
  return (ssize_t)len;
}

/* Whether pid's environment holds want ("SLURM_JOB_ID=J"); *unread when
 * it could not be read (or was empty: a process in its exec). */
static bool ui_agent_ours(int pid, const char *want, bool *unread) {
  static char env[1 << 18];
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/environ", pid);
  ssize_t n = ui_agent_read(path, env, sizeof env);
  *unread = n <= 0;
  size_t wl = strlen(want);
  for (ssize_t i = 0; i < n;) {
    size_t l = strnlen(env + i, (size_t)(n - i));
    if (l == wl && memcmp(env + i, want, wl) == 0)
      return true;
    i += (ssize_t)l + 1;
  }
  return false;
}

typedef struct ui_astat {
  char comm[32];
  char state;
  int ppid;
  long threads;
  unsigned long long ticks, start, rss_pages;
} ui_astat;

/* Parse /proc/PID/stat; 0 or -1 (gone). */
static int ui_agent_stat(int pid, ui_astat *st) {
  char buf[1024], path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  if (ui_agent_read(path, buf, sizeof buf) <= 0)
    return -1;
  char *open = strchr(buf, '('), *close = strrchr(buf, ')');
  if (!open || !close || close < open)
    return -1;
  size_t k = 0;
  for (char *p = open + 1; p < close && k + 1 < sizeof st->comm; p++)
    st->comm[k++] = isalnum((unsigned char)*p) || strchr("._-+:", *p) ? *p : '?';
  st->comm[k] = '\0';
  if (!k)
    snprintf(st->comm, sizeof st->comm, "?");
  unsigned long long utime, stime;
  /* fields 3.. : state ppid pgrp session tty tpgid flags minflt cminflt
   * majflt cmajflt utime stime cutime cstime priority nice threads
   * itrealvalue starttime vsize rss */
  if (sscanf(close + 2,
             "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %ld %*d "
             "%llu %*u %llu",
             &st->state, &st->ppid, &utime, &stime, &st->threads, &st->start, &st->rss_pages) != 7)
    return -1;
  st->ticks = utime + stime;
  return 0;
}

/* Whether pid is slurmstepd (a step's parent) or srun: never reported. */
static bool ui_agent_is_slurm(const char *comm) {
  return strcmp(comm, "slurmstepd") == 0 || strcmp(comm, "srun") == 0;
}

/* One round: list /proc, report the job's processes and exits. */
static int ui_agent_round(const char *node, const char *want, ui_aproc **tab, size_t *n,
                          size_t *cap) {
  static ui_aproc *next;
  static size_t ncap;
  size_t nn = 0;
  DIR *d = opendir("/proc");
  if (!d)
    return -1;
  double hz = (double)sysconf(_SC_CLK_TCK), now = ui_agent_now();
  long page_kb = sysconf(_SC_PAGESIZE) / 1024;
  int self = getpid();
  struct dirent *e;
  while ((e = readdir(d))) {
    char *end;
    long pid = strtol(e->d_name, &end, 10);
    if (*end || pid <= 0 || pid == self)
      continue;
    if (nn == ncap) {
      size_t c = ncap ? ncap * 2 : 256;
      ui_aproc *g = realloc(next, c * sizeof *g);
      if (!g)
        break;
      next = g;
      ncap = c;
    }
    ui_aproc key = {.pid = (int)pid},
             *old = *n ? bsearch(&key, *tab, *n, sizeof key, ui_aproc_cmp) : NULL;
    ui_aproc *p = &next[nn++];
    ui_astat st;
    bool fresh = !old || old->recheck;
    if (fresh) {
      /* A step's task between slurmstepd's fork and its exec has neither
       * its name nor its environment yet: it is looked at again next round
       * (and so is one whose environment could not be read). */
      *p = key;
      if (ui_agent_stat(p->pid, &st) < 0)
        continue; /* gone */
      p->recheck = ui_agent_is_slurm(st.comm);
      p->ours = !p->recheck && ui_agent_ours(p->pid, want, &p->recheck);
    } else {
      *p = *old;
      /* gone since the listing: its exit is told next round */
      if (!p->ours || ui_agent_stat(p->pid, &st) < 0)
        continue;
    }
    if (!p->ours)
      continue;
    if (!p->reported) {
      char ppath[64], pstat[512];
      snprintf(ppath, sizeof ppath, "/proc/%d/comm", st.ppid);
      p->top =
          ui_agent_read(ppath, pstat, sizeof pstat) > 0 && strncmp(pstat, "slurmstepd", 10) == 0;
      p->ticks = 0;
      p->at = (double)st.start / hz; /* the first sample: since its start */
    }
    double dt = now - p->at;
    double cpu = dt > 0.001 && st.ticks >= p->ticks ? (double)(st.ticks - p->ticks) / hz / dt : 0;
    printf("p %s %d %d %c %ld %lld %llu %d %d %s\n", node, p->pid, st.ppid, st.state, st.threads,
           (long long)(cpu * 1000 + 0.5), st.rss_pages * (unsigned long long)page_kb, !p->reported,
           p->top, st.comm);
    p->reported = true;
    p->ticks = st.ticks;
    p->at = now;
  }
  closedir(d);
  qsort(next, nn, sizeof *next, ui_aproc_cmp);
  for (size_t i = 0; i < *n; i++) {
    ui_aproc *o = &(*tab)[i];
    if (o->reported && o->ours && !bsearch(o, next, nn, sizeof *o, ui_aproc_cmp))
      printf("x %s %d %d\n", node, o->pid, o->top);
  }
  /* the listing becomes the table */
  if (*cap < nn) {
    ui_aproc *g = realloc(*tab, ncap * sizeof *g);
    if (!g)
      return -1;
    *tab = g;
    *cap = ncap;
  }
  if (nn)
    memcpy(*tab, next, nn * sizeof *next);
  *n = nn;
  return fflush(stdout) == 0 ? 0 : -1;
}

/* forktop agent --job J */
int ui_agent_main(int argc, char **argv) {
  if (argc != 3 || strcmp(argv[1], "--job") != 0 || !argv[2][0] ||
      strspn(argv[2], "0123456789") != strlen(argv[2]) || strlen(argv[2]) > 20) {
    fprintf(stderr, "forktop agent: internal (started by a pool with hosts = slurm:N); "
                    "usage: forktop agent --job JOBID\n");
    return 2;
  }
  char want[48], node[65] = "";
  snprintf(want, sizeof want, "SLURM_JOB_ID=%s", argv[2]);
  /* the node's name as Slurm knows it (what srun -w was given), else ours */
  const char *sn = getenv("SLURMD_NODENAME");
  if (sn && *sn && strlen(sn) < sizeof node)
    snprintf(node, sizeof node, "%s", sn);
  else if (gethostname(node, sizeof node - 1) < 0)
    snprintf(node, sizeof node, "?");
  for (char *c = node; *c; c++)
    if (!isgraph((unsigned char)*c))
      *c = '?';
  ui_aproc *tab = NULL;
  size_t n = 0, cap = 0;
  static char obuf[1 << 16];
  setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
  int status = 0;
  for (bool first = true, last = false; !last; first = false) {
    /* the pause, cut short by EOF on stdin: forktop is done with us, and
     * a last round tells the exits since the previous one */
    struct pollfd p = {0, POLLIN, 0};
    if (!first && poll(&p, 1, UI_AGENT_MS) > 0) {
      char b[256];
      last = read(0, b, sizeof b) <= 0;
    }
    if (ui_agent_round(node, want, &tab, &n, &cap) < 0) {
      status = 1;
      break;
    }
  }
  free(tab);
  return status;
}
