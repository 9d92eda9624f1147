/* ft_runner_feed.c - a pool's items streamed from a file or stdin
 * (items = @FILE or -): one item a non-empty line, read as the pool takes
 * them (ft_pool_imap_stream), so that a file of any length costs the
 * memory of a few batches, not of its items.
 *
 * A line has a bounded length, so a file with no end of line (/dev/zero)
 * fails when its first line passes the bound instead of taking all memory;
 * a read error ends the stream too.  Either way the items read before it
 * run, and the run says what went wrong and does not end as a success.
 *
 * A caller that reads the items for the pool (forktop map's stdin: an
 * ft_items_stream) gives its descriptor, its separator and the bytes it
 * read already; its items are every string its separator ends, empty ones
 * too, as GNU parallel's are, and it hears of each as it is read. */
#include "ft_runner_int.h"
#include "ft_workload_int.h"

#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

struct ft__feed {
  int fd;
  ft_items_stream *s; /* the caller's stream, or NULL */
  char sep;           /* what ends a line */
  bool own;           /* a file we opened (not stdin) */
  bool pollable;      /* not a regular file: a pipe, a FIFO, a terminal may have nothing yet */
  bool eof;           /* read(2) said the end */
  bool partial;       /* arg holds the start of a line whose end has not come yet */
  char what[4200];    /* "items file PATH", "items from stdin" or the stream's name */
  uint32_t unit;      /* the pool's unit number, the first word of each argument */
  bool star;          /* starmap: the words of a line, joined by one space */
  uint64_t count;     /* items given */
  uint64_t line;      /* lines read */
  uint64_t *tasks;    /* the summary's task count, one more each item */
  ft_buf arg;         /* the current item's argument: [u32 unit][u32 number][item] */
  char err[4400];     /* what ended the stream, when an error did */
  bool said;          /* err says why too (else the error's errno does) */
  size_t pos, len;    /* what of buf is read and not yet taken */
  char buf[65536];
};

/* Open the stream of items of pool pp (unit ui), counting each in *tasks. */
int ft__feed_open(const ft_plan_pool *pp, size_t ui, uint64_t *tasks, ft__feed **out) {
  ft__feed *f = ft__xalloc(sizeof *f);
  if (!f)
    return -ENOMEM;
  f->sep = '\n';
  if ((f->s = pp->items_stream)) {
    if (f->s->npre > sizeof f->buf) {
      free(f);
      return FT_EINVAL;
    }
    f->fd = f->s->fd;
    f->sep = f->s->sep;
    snprintf(f->what, sizeof f->what, "%s", f->s->name);
    memcpy(f->buf, f->s->pre, f->s->npre);
    f->len = f->s->npre;
  } else if (strcmp(pp->items_from, "-") == 0) {
    f->fd = STDIN_FILENO;
    snprintf(f->what, sizeof f->what, "items from stdin");
  } else {
    f->own = true;
    snprintf(f->what, sizeof f->what, "items file %s", pp->items_from);
    if ((f->fd = open(pp->items_from, O_RDONLY | O_CLOEXEC)) < 0) {
      int e = -errno;
      free(f);
      return e;
    }
  }
  struct stat sb;
  f->pollable = fstat(f->fd, &sb) < 0 || !S_ISREG(sb.st_mode);
  f->unit = (uint32_t)ui;
  f->star = pp->submit == FT_SUBMIT_STARMAP;
  f->tasks = tasks;
  *out = f;
  return 0;
}

/* The stream ends with an error: err says what (also into the caller's
 * stream, with why when err does not say it); returns rc. */
static int ft__feed_fail(ft__feed *f, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int ft__feed_fail(ft__feed *f, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f->err, sizeof f->err, fmt, ap);
  va_end(ap);
  if (f->s)
    snprintf(f->s->err, sizeof f->s->err, "%.200s%s%.90s", f->err, f->said ? "" : ": ",
             f->said ? "" : ft_strerror(rc));
  return rc;
}

/* A line that cannot be an item: "stdin:LINE: the line ..." for a
 * caller's stream, "items file F: line LINE ..." for a workload's. */
static int ft__feed_bad_line(ft__feed *f, int rc, const char *what) {
  unsigned long long n = (unsigned long long)f->line + 1;
  f->said = true;
  if (f->s)
    return ft__feed_fail(f, rc, "%s:%llu: the %s %s", f->what, n, f->sep ? "line" : "item", what);
  return ft__feed_fail(f, rc, "%s: line %llu %s", f->what, n, what);
}

/* More bytes into buf: 1, 0 at the end, -EAGAIN when a pipe has none yet
 * (asked without blocking: the loop must not wait on a slow writer), or
 * -errno. */
static int ft__feed_read(ft__feed *f) {
  if (f->eof)
    return 0;
  if (f->pollable) {
    struct pollfd pfd = {.fd = f->fd, .events = POLLIN};
    int n = poll(&pfd, 1, 0);
    if (n == 0 || (n < 0 && errno == EINTR))
      return -EAGAIN;
  }
  ssize_t n = read(f->fd, f->buf, sizeof f->buf);
  if (n < 0)
    return errno == EINTR || errno == EAGAIN ? -EAGAIN : -errno;
  f->pos = 0;
  f->len = (size_t)n;
  f->eof = n == 0;
  return n > 0;
}

/* The next line into f->arg after its header: 1, 0 at the end, -EAGAIN
 * (the line so far is kept for the next call), or an error. */
static int ft__feed_line(ft__feed *f) {
  for (;;) {
    if (!f->partial)
      f->arg.len = 8;
    f->partial = true;
    bool ended = false; /* the line's newline (or the file's end) came */
    while (!ended) {
      if (f->pos == f->len) {
        int rc = ft__feed_read(f);
        if (rc == -EAGAIN)
          return rc;
        if (rc < 0)
          return ft__feed_fail(f, rc, "%s", f->what);
        if (rc == 0) {
          if (f->arg.len == 8) /* nothing after the last newline */
            return 0;
          break;
        }
      }
      const char *at = f->buf + f->pos, *nl = memchr(at, f->sep, f->len - f->pos);
      size_t take = nl ? (size_t)(nl - at) : f->len - f->pos;
      if (f->arg.len - 8 + take > FT__ITEM_LINE_MAX) {
        char what[64];
        snprintf(what, sizeof what, "is longer than %d bytes", FT__ITEM_LINE_MAX);
        return ft__feed_bad_line(f, FT_E2BIG, what);
      }
      /* an item is a C string: with lines, a NUL byte in one is an error */
      if (f->s && f->sep && memchr(at, '\0', take))
        return ft__feed_bad_line(f, FT_EINVAL, "holds a NUL byte (-0 reads NUL-separated items)");
      if (ft_buf_append(&f->arg, at, take) < 0)
        return ft__feed_fail(f, -ENOMEM, "%s", f->what);
      f->pos += take + (nl != NULL);
      ended = nl != NULL;
    }
    f->partial = false;
    f->line++;
    if (f->s)
      return 1; /* the caller's stream: the line as it is, empty or not */
    while (f->arg.len > 8 && f->arg.data[f->arg.len - 1] == '\r')
      f->arg.len--;
    if (f->arg.len > 8)
      return 1; /* an empty line is no item */
  }
}

/* starmap: the line's words, each after one space, as its arguments are
 * joined for {} (ft__pool_star). */
static void ft__feed_words(ft__feed *f) {
  size_t o = 8;
  bool word = false;
  for (size_t i = 8; i < f->arg.len; i++) {
    char ch = f->arg.data[i];
    if (ch == ' ' || ch == '\t') {
      word = false;
      continue;
    }
    if (!word && o > 8)
      f->arg.data[o++] = ' ';
    word = true;
    f->arg.data[o++] = ch;
  }
  f->arg.len = o;
}

/* The pool's source (ft_source_fn): the next item. */
int ft__feed_next(void *ud, ft_slice *item) {
  ft__feed *f = ud;
  if (!f->arg.data && ft_buf_append(&f->arg, "\0\0\0\0\0\0\0\0", 8) < 0)
    return -ENOMEM;
  int rc = ft__feed_line(f);
  if (rc <= 0)
    return rc;
  if (f->star)
    ft__feed_words(f);
  if (f->count == UINT32_MAX) { /* an item's number travels as 32 bits */
    f->said = true;
    return ft__feed_fail(f, FT_E2BIG, "%s: more than %u items", f->what, UINT32_MAX);
  }
  if (f->s && f->s->on_item)
    f->s->on_item(f->s->ud, f->count, f->arg.data + 8, f->arg.len - 8);
  uint32_t h[2] = {f->unit, (uint32_t)f->count++};
  memcpy(f->arg.data, h, sizeof h);
  (*f->tasks)++;
  *item = (ft_slice){f->arg.data, f->arg.len};
  return 1;
}

/* The pipe's turn: the runner's tick (each loop turn) pulls what came. */
static void ft__feed_tick(ft_timer *t, void *ud) {
  const ft__unit *u = ud;
  if (!ft__feed_waits(u->feed))
    ft_timer_stop(t);
}

/* Start pool unit ui's streamed items: read as the pool takes them,
 * whatever the submit mode (the runner never looks at results, only at
 * their end), each run by fn. */
int ft__feed_start(ft_runner *r, size_t ui, const ft_plan_pool *pp, ft_task_fn fn) {
  ft__unit *u = &r->units[ui];
  int rc = ft__feed_open(pp, ui, &r->sum.tasks, &u->feed);
  if (rc < 0)
    return rc;
  bool ordered = pp->submit != FT_SUBMIT_IMAP_UNORDERED && pp->submit != FT_SUBMIT_APPLY_ASYNC;
  rc = (ordered ? ft_pool_imap_stream : ft_pool_imap_unordered_stream)(
      u->pool, fn, ft__feed_next, u->feed, pp->chunksize, &u->iter);
  /* A pipe is read only as far as its writer has written (the loop never
   * waits on it): until its end, the loop wakes now and then to look. */
  if (rc == 0 && ft__feed_waits(u->feed) &&
      ((rc = ft_timer_new(r->loop, &u->feed_timer)) < 0 ||
       (rc = ft_timer_start(u->feed_timer, 20000000, 20000000, ft__feed_tick, u)) < 0))
    return rc;
  return rc;
}

/* Whether a pipe may have nothing yet, so the loop must look again later:
 * until the end has been read. */
bool ft__feed_waits(const ft__feed *f) { return f && f->pollable && !f->eof; }

/* What ended the stream with an error: what could not be read, and *said
 * whether that says why too (else the error's errno does); "" when no
 * error did. */
const char *ft__feed_error(const ft__feed *f, bool *said) {
  *said = f && f->said;
  return f ? f->err : "";
}

/* Close the stream (stdin stays open); NULL is a no-op. */
void ft__feed_free(ft__feed *f) {
  if (!f)
    return;
  if (f->own)
    close(f->fd);
  ft_buf_free(&f->arg);
  free(f);
}
