/* ui_map.c - forktop map: a command pool without a workload file.
 *
 *   forktop map [-j N] [--joblog F] [--headless|--json] -- CMD ARG... {}
 *
 * runs CMD once per line of stdin (or per argument after `:::`), the item
 * in place of {} (or appended when no placeholder is written), no shell.
 * stdin is streamed: the pool's feed (ft_runner_feed.c) reads its lines as
 * the workers take them, so a command starts as soon as its line has come
 * and an input of any length costs a few batches of memory.
 * The plan is built in memory (one pool whose task execs CMD) and run by
 * the same session as `forktop run`: dashboard, headless or JSON, every
 * command watched as a descendant.  --joblog writes GNU parallel's joblog.
 *
 * The joblog pairs each task with the command it ran.  A task's events
 * come from its worker over the pool's pipe; the command's exit (its own
 * exit code, or the signal that killed it) comes from the watch, and the
 * two reach the loop in either order.  A worker runs its tasks one at a
 * time and each task forks exactly one direct child (posix_spawn, failed
 * exec included), so per worker the k-th task started is the k-th child
 * that exits: two queues per worker, paired front to front.  The pair is
 * used only to tell a command killed by signal N from one that exited
 * with 128 + N (the task's code is 128 + N either way), and only when the
 * two agree: an exit the watch did not learn (a /proc scan knows no
 * signal) or a pairing thrown off by an exit it missed leaves the task's
 * own code, never another command's.  A task whose command's exit was
 * never heard of is written at the end of the run, or once its worker has
 * UI_MAP_LAG more such tasks; a job is forgotten once it is written. */
#include "ui.h"
#include "ui_opt.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A job the joblog has not written yet: from the moment its item is read
 * (or, for ::: items, from the start) until its line is written. */
typedef struct ui_job {
  struct ui_job *next; /* in its bucket */
  uint64_t seq;        /* the item's number from 0 (the pool's task number) */
  uint64_t t_start, dur;
  int code, signal; /* the task's: 128 + N when its command died of signal N */
  int exit_signal;  /* the signal its command died of, as the watch saw it */
  bool started, ended, paired;
  char *item; /* a streamed item's text; NULL: the plan's items[seq] */
} ui_job;

/* Each worker's tasks started and its children's exits, paired front to
 * front; what is paired is dropped from the front, so that a worker holds
 * what is in flight, not its whole history. */
typedef struct ui_mworker {
  pid_t pid;
  uint64_t *started; /* items, in the order the worker started them */
  size_t nstarted, hstarted, capstarted;
  struct ui_mexit {
    int code, signal;
  } * exits; /* its children's exits, in order */
  size_t nexits, hexits, capexits;
  pid_t last_exit; /* an exit said twice (by the connector and a scan) counts once */
} ui_mworker;

typedef struct ui_map {
  const ft_plan *plan;
  FILE *joblog;
  bool joblog_failed;
  ui_job **tab; /* the jobs not yet written, by seq: a hash of tabcap buckets */
  size_t tabcap, njobs;
  ui_mworker *w;
  size_t nw;
  uint64_t mono0;
  double wall0;
  ft_items_stream st; /* stdin's items, streamed */
} ui_map;

/* Jobs started but not yet paired with their command's exit that a worker
 * may hold: past it, its oldest is taken to be one whose exit the watch
 * missed (a /proc scan misses most short commands) and is written from its
 * task's own code, so that a long run's joblog costs bounded memory. */
#define UI_MAP_LAG 64
/* The first bytes of the items read before the run starts, at most. */
#define UI_MAP_PRE 65536

/* Room for one more in a queue of *n (from head *h) of cap: what was taken
 * from the front is reused before the array grows. */
static int ui_grow(void **v, size_t *cap, size_t *h, size_t *n, size_t size) {
  if (*h && *h == *n)
    *h = *n = 0;
  if (*n < *cap)
    return 0;
  if (*h && *h >= *cap / 2) {
    memmove(*v, (char *)*v + *h * size, (*n - *h) * size);
    *n -= *h;
    *h = 0;
    return 0;
  }
  size_t c = *cap ? *cap * 2 : 16;
  void *p = realloc(*v, c * size);
  if (!p)
    return -ENOMEM;
  *v = p;
  *cap = c;
  return 0;
}

static ui_job **ui_job_slot(ui_map *m, uint64_t seq) {
  ui_job **p = &m->tab[seq & (m->tabcap - 1)];
  while (*p && (*p)->seq != seq)
    p = &(*p)->next;
  return p;
}

static ui_job *ui_job_find(ui_map *m, uint64_t seq) {
  return m->tabcap ? *ui_job_slot(m, seq) : NULL;
}

/* A new job for item seq (text: a streamed item's, copied; NULL: the
 * plan's); -ENOMEM. */
static int ui_job_add(ui_map *m, uint64_t seq, const char *text, size_t len) {
  if (m->njobs >= m->tabcap) { /* rehash into twice the buckets */
    size_t cap = m->tabcap ? m->tabcap * 2 : 1024;
    ui_job **tab = calloc(cap, sizeof *tab);
    if (!tab)
      return -ENOMEM;
    for (size_t i = 0; i < m->tabcap; i++)
      for (ui_job *j = m->tab[i], *next; j; j = next) {
        next = j->next;
        j->next = tab[j->seq & (cap - 1)];
        tab[j->seq & (cap - 1)] = j;
      }
    free(m->tab);
    m->tab = tab;
    m->tabcap = cap;
  }
  ui_job *j = calloc(1, sizeof *j);
  if (!j || (text && !(j->item = strndup(text, len)))) {
    free(j);
    return -ENOMEM;
  }
  j->seq = seq;
  ui_job **slot = &m->tab[seq & (m->tabcap - 1)];
  j->next = *slot;
  *slot = j;
  m->njobs++;
  return 0;
}

static void ui_job_drop(ui_map *m, ui_job *j) {
  ui_job **p = ui_job_slot(m, j->seq);
  *p = j->next;
  m->njobs--;
  free(j->item);
  free(j);
}

static ui_mworker *ui_worker(ui_map *m, pid_t pid, bool add) {
  for (size_t i = 0; i < m->nw; i++)
    if (m->w[i].pid == pid)
      return &m->w[i];
  if (!add)
    return NULL;
  ui_mworker *w = realloc(m->w, (m->nw + 1) * sizeof *m->w);
  if (!w)
    return NULL;
  m->w = w;
  w = &m->w[m->nw++];
  *w = (ui_mworker){.pid = pid};
  return w;
}

/* One word of the Command column, as a shell would read it back: as it is
 * when nothing in it is special, else in single quotes; a control
 * character (a newline in an argument) as $'\n' so the line stays one. */
static void ui_put_word(FILE *f, const char *s) {
  bool plain = *s != '\0', ctl = false;
  for (const char *p = s; *p; p++) {
    unsigned char c = (unsigned char)*p;
    ctl |= c < 0x20 || c == 0x7f;
    plain &= strchr("-_./:,+=@%", c) || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
             (c >= 'A' && c <= 'Z');
  }
  if (plain) {
    fputs(s, f);
  } else if (ctl) {
    fputs("$'", f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
      if (*p == '\n')
        fputs("\\n", f);
      else if (*p == '\t')
        fputs("\\t", f);
      else if (*p < 0x20 || *p == 0x7f)
        fprintf(f, "\\x%02x", *p);
      else if (*p == '\'' || *p == '\\')
        fprintf(f, "\\%c", *p);
      else
        fputc(*p, f);
    fputc('\'', f);
  } else {
    fputc('\'', f);
    for (const char *p = s; *p; p++)
      if (*p == '\'')
        fputs("'\\''", f);
      else
        fputc(*p, f);
    fputc('\'', f);
  }
}

/* Job j's joblog line, GNU parallel's columns: Seq Host Starttime
 * JobRuntime Send Receive Exitval Signal Command.  Then it is forgotten. */
static void ui_job_write(ui_map *m, ui_job *j) {
  int code = j->code, signo = j->signal;
  if (j->paired && j->exit_signal && code == 128 + j->exit_signal)
    code = 0, signo = j->exit_signal; /* parallel's Exitval 0, Signal N */
  double start = m->wall0 + ((double)j->t_start - (double)m->mono0) / 1e9;
  fprintf(m->joblog, "%llu\t:\t%.3f\t%10.3f\t0\t0\t%d\t%d\t", (unsigned long long)j->seq + 1, start,
          (double)j->dur / 1e9, code, signo);
  char **argv = NULL;
  const ft_plan_pool *pp = &m->plan->pools[0];
  const char *item = j->item ? j->item : j->seq < pp->nitems ? pp->items[j->seq] : "";
  if (ft_plan_exec_argv(pp->steps[0].argv, item, j->seq + 1, &argv) == 0)
    for (size_t k = 0; argv[k]; k++) {
      if (k)
        fputc(' ', m->joblog);
      ui_put_word(m->joblog, argv[k]);
    }
  ft_plan_argv_free(argv);
  fputc('\n', m->joblog);
  if (fflush(m->joblog))
    m->joblog_failed = true;
  ui_job_drop(m, j);
}

static void ui_pair(ui_map *m, ui_mworker *w) {
  while (w->hstarted < w->nstarted && w->hexits < w->nexits) {
    ui_job *j = ui_job_find(m, w->started[w->hstarted++]);
    struct ui_mexit e = w->exits[w->hexits++];
    if (!j)
      continue;
    j->paired = true;
    j->exit_signal = e.signal;
    if (j->ended)
      ui_job_write(m, j);
  }
  /* past UI_MAP_LAG unpaired, the oldest (ended: a worker runs one task at
   * a time) is written from its own code */
  while (w->nstarted - w->hstarted > UI_MAP_LAG) {
    ui_job *j = ui_job_find(m, w->started[w->hstarted]);
    if (j && !j->ended)
      break;
    w->hstarted++;
    if (j)
      ui_job_write(m, j);
  }
}

/* The joblog's view of the run: tasks from the pool's events, their
 * commands' exits from the watch's. */
static void ui_map_event(const ft_event *ev, void *ud) {
  ui_map *m = ud;
  ui_mworker *w;
  ui_job *j;
  switch (ev->kind) {
  case FT_EV_SPAWN:
    if (ev->u.spawn.role && strcmp(ev->u.spawn.role, "worker") == 0)
      ui_worker(m, ev->pid, true);
    break;
  case FT_EV_EXIT:
    if (!ev->u.exit.orphan && (w = ui_worker(m, ev->ppid, false)) && w->last_exit != ev->pid &&
        ui_grow((void **)&w->exits, &w->capexits, &w->hexits, &w->nexits, sizeof *w->exits) == 0) {
      w->exits[w->nexits++] = (struct ui_mexit){ev->u.exit.code, ev->u.exit.signal};
      w->last_exit = ev->pid;
      ui_pair(m, w);
    }
    break;
  case FT_EV_TASK_START:
    if ((j = ui_job_find(m, ev->u.task.task)) && !j->started) {
      j->started = true;
      j->t_start = ev->t_ns;
      if ((w = ui_worker(m, ev->pid, true)) &&
          ui_grow((void **)&w->started, &w->capstarted, &w->hstarted, &w->nstarted,
                  sizeof *w->started) == 0) {
        w->started[w->nstarted++] = ev->u.task.task;
        ui_pair(m, w);
      }
    }
    break;
  case FT_EV_TASK_DONE:
  case FT_EV_TASK_FAIL:
    if ((j = ui_job_find(m, ev->u.task.task)) && ev->u.task.worker >= 0) {
      j->ended = true;
      j->dur = ev->u.task.dur_ns;
      if (!j->started)
        j->t_start = ev->t_ns - ev->u.task.dur_ns;
      j->code = ev->u.task.code;
      j->signal = ev->u.task.signal;
      if (j->paired)
        ui_job_write(m, j);
    }
    break;
  default:
    break;
  }
}

static int ui_seq_cmp(const void *a, const void *b) {
  uint64_t x = (*(ui_job *const *)a)->seq, y = (*(ui_job *const *)b)->seq;
  return x < y ? -1 : x > y;
}

/* Forget every job not written (NULL-safe: none). */
static void ui_jobs_free(ui_map *m) {
  for (size_t i = 0; i < m->tabcap; i++)
    while (m->tab[i])
      ui_job_drop(m, m->tab[i]);
  free(m->tab);
  m->tab = NULL;
  m->tabcap = 0;
}

/* At the end: the jobs whose commands' exits the watch did not see, from
 * their tasks' own codes, in their order; then every job is forgotten. */
static void ui_jobs_finish(ui_map *m) {
  ui_job **v = m->njobs ? calloc(m->njobs, sizeof *v) : NULL;
  size_t n = 0;
  for (size_t i = 0; i < m->tabcap; i++)
    for (ui_job *j = m->tab[i]; j; j = j->next)
      if (v && j->ended)
        v[n++] = j;
  if (n) /* (v is NULL when there were none) */
    qsort(v, n, sizeof *v, ui_seq_cmp);
  for (size_t i = 0; i < n; i++)
    ui_job_write(m, v[i]);
  free(v);
  ui_jobs_free(m);
}

/* A streamed item, as the pool's feed reads it: a job for the joblog. */
static void ui_map_item(void *ud, uint64_t seq, const char *item, size_t len) {
  ui_map *m = ud;
  if (m->joblog && ui_job_add(m, seq, item, len) < 0)
    m->joblog_failed = true; /* out of memory: that job is not written */
}

/* ------------------------------------------------------------ the input */

/* Every line of f (without its newline) as an item, or every
 * NUL-terminated string with sep '\0' (find -print0, xargs -0), all read
 * before anything runs: only for items typed on the terminal that the
 * dashboard then takes (a pipe or a file is streamed). */
static int ui_read_items(FILE *f, int sep, char ***items, size_t *n, char *why, size_t whylen) {
  char *line = NULL;
  size_t cap = 0, nalloc = 0, head = 0;
  ssize_t len;
  while ((len = getdelim(&line, &cap, sep, f)) >= 0) {
    if (len > 0 && line[len - 1] == sep)
      line[--len] = '\0';
    if (strlen(line) != (size_t)len) {
      snprintf(why, whylen, "stdin:%zu: the line holds a NUL byte (-0 reads NUL-separated items)",
               *n + 1);
      goto fail;
    }
    if (ui_grow((void **)items, &nalloc, &head, n, sizeof **items) < 0 ||
        !((*items)[*n] = strdup(line))) {
      snprintf(why, whylen, "stdin: out of memory");
      goto fail;
    }
    (*n)++;
  }
  if (ferror(f)) {
    snprintf(why, whylen, "stdin: %s", strerror(errno));
    goto fail;
  }
  free(line);
  return 0;
fail:
  free(line);
  return -1;
}

/* The first bytes of the items (fd), waited for, into buf: an input that
 * ends with none runs nothing and forks no worker.  More is taken while it
 * is there already, and *ended says whether the input's end came with it
 * (then the items are all known: no more workers than items are forked).
 * Returns how many bytes, or -errno. */
static ssize_t ui_read_first(int fd, char *buf, size_t cap, bool *ended) {
  size_t got = 0;
  *ended = false;
  while (got < cap) {
    if (got) { /* only what is there already: a slow writer is not waited for */
      struct pollfd pfd = {.fd = fd, .events = POLLIN};
      if (poll(&pfd, 1, 0) <= 0)
        break;
    }
    ssize_t n = read(fd, buf + got, cap - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return got && errno == EAGAIN ? (ssize_t)got : -errno;
    if (n == 0) {
      *ended = true;
      break;
    }
    got += (size_t)n;
  }
  return (ssize_t)got;
}

enum { M_JOBLOG = 256, M_HEADLESS, M_JSON, M_RECORD, M_ASCII, M_SCAN };

/* map's options (its help's lines and getopt's tables). */
static const ui_optdef ui_map_opts[] = {
    {"jobs", 'j', "N", 'j', 0, "workers (default: the online CPUs)"},
    {"null", '0', NULL, '0', 0,
     "items on stdin end with a NUL byte, not a newline\n(find -print0), so they may hold "
     "newlines"},
    {"joblog", 0, "FILE", M_JOBLOG, 0,
     "write GNU parallel's joblog (Seq, Host, Starttime,\nJobRuntime, Send, Receive, Exitval, "
     "Signal, Command)"},
    {"headless", 0, NULL, M_HEADLESS, 0, "print what happens as readable lines, then a summary"},
    {"json", 0, NULL, M_JSON, 0, "print one JSON object per event (schema: docs/json.md)"},
    {"record", 0, "FILE", M_RECORD, 0, "also write the JSON event stream to FILE"},
    {NULL, 'd', "TENTHS", 'd', 0, "dashboard refresh delay in tenths of a second"},
    {"ascii", 0, NULL, M_ASCII, 0, "draw the tree with ASCII instead of Unicode"},
    {"scan", 0, NULL, M_SCAN, 0,
     "watch the commands by scanning /proc, even where the\nkernel's process-event connector "
     "would see each one"},
    {"help", 'h', NULL, 'h', 0, "show this help"},
};
#define UI_MAP_NOPTS (sizeof ui_map_opts / sizeof ui_map_opts[0])

static void ui_map_usage(FILE *f) {
  fprintf(
      f, "usage: forktop map [-j N] [--joblog FILE] [--headless|--json] [OPTIONS] -- CMD [ARG...]\n"
         "       forktop map [OPTIONS] -- CMD [ARG...] ::: ITEM...\n"
         "\n"
         "Runs CMD once per line of stdin (or per ITEM after :::) on N workers, with\n"
         "the dashboard, --headless or --json as any run.  In CMD's arguments {} is\n"
         "the item, {.} the item without its extension, {/} its basename, {//} its\n"
         "directory, {/.} its basename without extension, {#} the job's number from\n"
         "1 (the joblog's Seq); with none of them the item is appended as the last\n"
         "argument.  No shell runs unless CMD is one (sh -c '...'); the item is\n"
         "always one argument, and inside sh -c one shell word, never shell code.\n"
         "\n"
         "stdin is read as the workers take its lines, not first to its end: each\n"
         "command starts as soon as its line has come (tail -f log | forktop map\n"
         "...), and forktop holds a few batches of items whatever the input's\n"
         "length.  Every line is an item, an empty one too (an empty argument, as\n"
         "GNU parallel gives it), as it is (a CR is kept); a line may be 1 MiB\n"
         "long.  A NUL byte in a line (without -0) or a longer line ends the input\n"
         "there: the items before it run, and map says stdin:LINE and exits 1.\n"
         "\n"
         "options:\n");
  ui_opt_help(f, ui_map_opts, UI_MAP_NOPTS, 0);
  fprintf(f, "\n"
             "exit status: 0 every command succeeded (or there was no input); 1 a command\n"
             "failed (exited non-zero, was killed, or could not start), stdin could not\n"
             "be read as items, or the joblog could not be written; 2 usage error;\n"
             "128+N stopped by signal N.\n");
}

/* The items come on stdin (`find | forktop map ...`), read from a
 * descriptor of their own already: with the output on a terminal, the
 * dashboard takes its keys from the terminal itself, as less and htop do,
 * so a pipe in does not mean no dashboard.  The commands never read
 * either: their stdin is /dev/null. */
static void ui_keys_from_tty(const ui_opts *o) {
  if (o->mode != UI_DASHBOARD || isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
    return;
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return; /* no controlling terminal: it runs headless */
  if (dup2(fd, STDIN_FILENO) >= 0)
    clearerr(stdin);
  close(fd);
}

/* The command as one line for the headless header and the dashboard. */
static void ui_cmd_label(char *const *cmd, char *out, size_t n) {
  ft_buf b = {0}, s = {0};
  for (size_t i = 0; cmd[i]; i++)
    ft_buf_printf(&b, "%s%s", i ? " " : "", cmd[i]);
  ui_sanitize(b.data ? b.data : "", b.len, &s);
  snprintf(out, n, "%.*s", (int)s.len, s.data ? s.data : "");
  ft_buf_free(&b);
  ft_buf_free(&s);
}

/* forktop map ...: argv[0] is "map". */
int ui_map_main(int argc, char **argv) {
  ui_opts o = {.mode = UI_DASHBOARD, .delay_tenths = 1, .speed = 1};
  const char *joblog = NULL;
  int workers = 0, c, status = 2, sep_char = '\n';
  int items_fd = -1;
  char *end, **items = NULL, why[256], *pre = NULL;
  size_t nitems = 0;
  ui_map m = {0};
  ft_plan *plan = NULL;
  struct option longs[UI_OPT_MAX + 1];
  char shorts[3 * UI_OPT_MAX + 3];
  /* "+": options end at CMD, whose own options are its own */
  ui_opt_getopt(ui_map_opts, UI_MAP_NOPTS, "+:", longs, shorts);
  optind = 0; /* getopt starts afresh (main may have used it) */
  opterr = 0;
  while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
    switch (c) {
    case 'j': {
      long v = strtol(optarg, &end, 10);
      if (*end || !*optarg || v < 1)
        return ui_opt_usage("map", "-j %s: expected a number of workers, 1 or more", optarg);
      ft_buf lim = {0}; /* no fixed maximum: what a pool takes, and ulimit -u */
      if (ft_plan_workers_check((uint64_t)v, &lim) < 0) {
        char msg[320];
        snprintf(msg, sizeof msg, "-j %s: %.*s", optarg, (int)lim.len, lim.data ? lim.data : "");
        ft_buf_free(&lim);
        return ui_opt_usage("map", "%s", msg);
      }
      workers = (int)v;
      break;
    }
    case 'd': {
      long v = strtol(optarg, &end, 10);
      if (*end || !*optarg || v < 1 || v > 600)
        return ui_opt_usage("map", "-d %s: expected tenths of a second, 1 to 600", optarg);
      o.delay_tenths = (int)v;
      break;
    }
    case M_JOBLOG:
      joblog = optarg;
      break;
    case '0':
      sep_char = '\0';
      break;
    case M_HEADLESS:
      o.mode = UI_HEADLESS;
      break;
    case M_JSON:
      o.mode = UI_JSON;
      break;
    case M_RECORD:
      o.record = optarg;
      break;
    case M_ASCII:
      o.ascii = true;
      break;
    case M_SCAN:
      o.scan_only = true;
      break;
    case 'h':
      ui_map_usage(stdout);
      return 0;
    default: /* '?' or ':' */
      return ui_opt_bad("map", NULL, c, argv, ui_map_opts, UI_MAP_NOPTS, 0, NULL);
    }
  }
  char **cmd = &argv[optind];
  int ncmd = argc - optind, sep = -1;
  for (int i = 0; i < ncmd; i++)
    if (strcmp(cmd[i], ":::") == 0) {
      if (sep >= 0)
        return ui_opt_usage("map", "%s", "only one ::: list of items is supported");
      sep = i;
    }
  if ((sep < 0 ? ncmd : sep) == 0)
    return ui_opt_usage("map", "%s",
                        "no command: write it after --, as in "
                        "forktop map -j 4 -- gzip {}");
  if (!cmd[0][0])
    return ui_opt_usage("map", "%s", "the command is an empty string");
  /* The items: after :::, or typed on the terminal the dashboard then
   * takes (all read first), or else streamed from stdin as the pool takes
   * them, from a descriptor of its own (fd 0 may become the terminal). */
  bool typed = o.mode == UI_DASHBOARD && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
  bool ended = true;
  ssize_t got = 0;
  if (sep >= 0) {
    nitems = (size_t)(ncmd - sep - 1);
    items = &cmd[sep + 1];
    cmd[sep] = NULL;
  } else if (typed) {
    if (ui_read_items(stdin, sep_char, &items, &nitems, why, sizeof why) < 0) {
      fprintf(stderr, "forktop map: %s\n", why);
      status = 1;
      goto done;
    }
  } else {
    if (!(pre = malloc(UI_MAP_PRE)) ||
        (got = ui_read_first(STDIN_FILENO, pre, UI_MAP_PRE, &ended)) < 0 ||
        (got > 0 && (items_fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3)) < 0)) {
      fprintf(stderr, "forktop map: stdin: %s\n", strerror(pre && got < 0 ? (int)-got : errno));
      status = 1;
      goto done;
    }
    ui_keys_from_tty(&o);
  }
  int frc;
  if (joblog && (frc = ui_file_create(joblog, &m.joblog)) < 0) { /* never through a symlink */
    fprintf(stderr, "forktop map: --joblog %s: %s\n", joblog, strerror(-frc));
    status = 1;
    goto done;
  }
  /* written out now: nothing of the joblog may sit in a stdio buffer that
   * a fork copies into a child */
  if (m.joblog &&
      (fputs("Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n",
             m.joblog) < 0 ||
       fflush(m.joblog)))
    m.joblog_failed = true;
  if (nitems == 0 && got == 0) { /* nothing to run: no worker is forked either */
    if (o.mode != UI_JSON)
      fprintf(o.mode == UI_HEADLESS ? stdout : stderr, "forktop map: no input, nothing to run\n");
    if (m.joblog_failed)
      fprintf(stderr, "forktop map: writing the joblog %s failed\n", joblog);
    status = m.joblog_failed ? 1 : 0;
    goto done;
  }
  int rc =
      ft_plan_command_pool("map", cmd, items, nitems, workers ? workers : ft_cpu_count(), &plan);
  if (rc < 0) {
    fprintf(stderr, "forktop map: %s\n", ft_strerror(rc));
    status = 1;
    goto done;
  }
  ft_plan_pool *pp = &plan->pools[0];
  if (got > 0) {
    /* Streamed: read as the workers take them, whatever the input's
     * length, and run in completion order (a slow command holds up no
     * other's start).  When the input's end came with its first bytes,
     * they hold every item. */
    m.st = (ft_items_stream){.fd = items_fd,
                             .name = "stdin",
                             .sep = (char)sep_char,
                             .pre = pre,
                             .npre = (size_t)got,
                             .on_item = ui_map_item,
                             .ud = &m};
    if (!(pp->items_from = strdup("-"))) {
      fprintf(stderr, "forktop map: out of memory\n");
      status = 1;
      goto done;
    }
    pp->items_stream = &m.st;
    pp->submit = FT_SUBMIT_IMAP_UNORDERED;
    if (ended) {
      nitems = pre[got - 1] != sep_char;
      for (ssize_t i = 0; i < got; i++)
        nitems += pre[i] == sep_char;
    }
  } else if (m.joblog) {
    for (size_t i = 0; i < nitems; i++)
      if (ui_job_add(&m, i, NULL, 0) < 0) {
        fprintf(stderr, "forktop map: out of memory\n");
        status = 1;
        goto done;
      }
  }
  /* no more workers than commands, when how many is known */
  if (ended && (size_t)pp->workers > nitems)
    pp->workers = (int)nitems;
  m.plan = plan;
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  m.mono0 = ft_now_ns();
  m.wall0 = (double)wall.tv_sec + (double)wall.tv_nsec / 1e9;
  char label[512];
  ui_cmd_label(cmd, label, sizeof label);
  /* without a joblog nothing needs the events */
  status = ui_run_plan(plan, label, &o, m.joblog ? ui_map_event : NULL, &m);
  if (m.joblog)
    ui_jobs_finish(&m);
  if (m.st.err[0]) /* the items before it ran; the summary says it too */
    fprintf(stderr, "forktop map: %s\n", m.st.err);
  if (m.joblog_failed) {
    fprintf(stderr, "forktop map: writing the joblog %s failed\n", joblog);
    if (!status)
      status = 1;
  }
done:
  if (m.joblog && fclose(m.joblog) && status == 0) {
    fprintf(stderr, "forktop map: writing the joblog %s failed\n", joblog);
    status = 1;
  }
  for (size_t i = 0; i < m.nw; i++) {
    free(m.w[i].started);
    free(m.w[i].exits);
  }
  free(m.w);
  ui_jobs_free(&m);
  ft_plan_free(plan);
  if (items_fd >= 0)
    close(items_fd);
  free(pre);
  if (sep < 0) {
    for (size_t i = 0; i < nitems && typed; i++)
      free(items[i]);
    free(items);
  }
  return status;
}
