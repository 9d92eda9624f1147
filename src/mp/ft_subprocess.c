/* ft_subprocess.c - subprocess.call, run, check_output, and Popen with
 * communicate and wait, built on ft_process and the loop.
 *
 * Every exchange with a child goes through the loop: its stdin is written
 * and its stdout and stderr are read, all non-blocking, as each becomes
 * ready.  A filter that writes megabytes while it is fed megabytes never
 * deadlocks against us, and the loop keeps reporting events meanwhile. */
#include "ft_internal.h"

#include <sys/epoll.h>
#include <unistd.h>

/* How much room is made in a collecting buffer before each read. */
#define FT__READ_CHUNK 65536

struct ft_popen {
  ft_loop *loop;
  ft_process *proc;
  ft__watch *w[3];    /* stdin writer, stdout and stderr readers, while open */
  bool started;       /* communicate has taken the pipe ends */
  ft_buf out, err;    /* what stdout and stderr pipes gave so far */
  const char *in_ptr; /* input being written to stdin */
  size_t in_len, in_off;
  ft_buf in_keep; /* unwritten input kept across a timed-out communicate */
  int io_err;     /* first error other than EPIPE while moving bytes, or 0 */
};

/* ------------------------------------------------------------- helpers */

static void ft__popen_io_error(ft_popen *p, int err) {
  if (!p->io_err)
    p->io_err = err;
}

static void ft__popen_close_stream(ft_popen *p, int s) {
  ft__watch_close(p->loop, p->w[s]);
  p->w[s] = NULL;
}

/* Write what the pipe takes.  A child that exits, or closes its stdin,
 * without reading all of its input makes the write fail with EPIPE: that
 * only means "stop writing".  The SIGPIPE the kernel raises with it cannot
 * kill us, because the loop keeps SIGPIPE blocked and drains it through its
 * signalfd. */
static void ft__popen_on_stdin(ft_loop *loop, ft__watch *w, uint32_t events) {
  (void)loop;
  (void)events;
  ft_popen *p = w->data;
  while (p->in_off < p->in_len) {
    ssize_t n = write(w->fd, p->in_ptr + p->in_off, p->in_len - p->in_off);
    if (n > 0) {
      p->in_off += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return; /* the pipe is full: wait for the child to read */
    if (n < 0 && errno != EPIPE)
      ft__popen_io_error(p, -errno);
    break;
  }
  ft__popen_close_stream(p, 0); /* all written (or refused): the child sees EOF */
}

/* Read what there is (at most FT_DRAIN_MAX per call, so that the other
 * streams get their turn) into the stream's buffer; close it at EOF. */
static void ft__popen_on_output(ft_loop *loop, ft__watch *w, uint32_t events) {
  (void)loop;
  (void)events;
  ft_popen *p = w->data;
  int s = w == p->w[1] ? 1 : 2;
  ft_buf *b = s == 1 ? &p->out : &p->err;
  for (size_t got = 0;;) {
    if (got >= FT_DRAIN_MAX)
      return; /* more later: epoll is level-triggered */
    int rc = ft_buf_reserve(b, FT__READ_CHUNK);
    if (rc < 0) {
      ft__popen_io_error(p, rc); /* stop reading; the child gets EPIPE */
      break;
    }
    ssize_t n = read(w->fd, b->data + b->len, b->cap - b->len);
    if (n > 0) {
      b->len += (size_t)n;
      got += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return;
    if (n < 0)
      ft__popen_io_error(p, -errno);
    break; /* EOF or error */
  }
  ft__popen_close_stream(p, s);
}

/* Take the parent ends of the pipes and put them in the loop.  Input for a
 * stdin that is a pipe is written as the child reads it; without input the
 * pipe is closed at once so that the child sees EOF. */
static int ft__popen_start_io(ft_popen *p, ft_slice input) {
  static const ft__watch_cb cbs[3] = {ft__popen_on_stdin, ft__popen_on_output, ft__popen_on_output};
  int rc = 0;
  p->started = true;
  p->in_ptr = input.ptr;
  p->in_len = input.ptr ? input.len : 0;
  for (int s = 0; s < 3; s++) {
    int fd = ft__process_take_fd(p->proc, s);
    if (fd < 0)
      continue;
    if (s == 0 && !p->in_len) {
      close(fd);
      continue;
    }
    p->w[s] = ft__watch_new(p->loop, fd, s == 0 ? EPOLLOUT : EPOLLIN, cbs[s], p, true);
    if (!p->w[s]) {
      rc = -errno;
      close(fd);
      goto fail;
    }
  }
  return 0;
fail:
  for (int s = 0; s < 3; s++)
    ft__popen_close_stream(p, s);
  return rc;
}

/* Done when every pipe reached EOF (or was closed) and the child was
 * reaped; either may come first.  The child can exit while its last output
 * still sits in a pipe (the exit is then seen before the EOF), and a
 * grandchild that inherited a pipe can keep it open after the child is
 * gone: as in Python, communicate waits for that EOF too. */
static bool ft__popen_done(void *ud) {
  ft_popen *p = ud;
  return !p->w[0] && !p->w[1] && !p->w[2] && !ft_process_is_alive(p->proc);
}

/* After a timeout the caller's input may go away, but the child may not
 * have read it all: keep what is left so that a later communicate (or the
 * loop, turned by anyone) can finish writing it. */
static void ft__popen_keep_input(ft_popen *p) {
  if (!p->w[0] || p->in_ptr == p->in_keep.data)
    return;
  size_t left = p->in_len - p->in_off;
  if (ft_buf_append(&p->in_keep, p->in_ptr + p->in_off, left) < 0) {
    ft__popen_io_error(p, -ENOMEM);
    ft__popen_close_stream(p, 0);
    return;
  }
  p->in_ptr = p->in_keep.data;
  p->in_len = left;
  p->in_off = 0;
}

/* Give a copy of the output so far (the popen keeps collecting). */
static int ft__popen_copy_output(ft_popen *p, ft_run_result *res) {
  if (p->out.len && ft_buf_append(&res->out, p->out.data, p->out.len) < 0)
    return -ENOMEM;
  if (p->err.len && ft_buf_append(&res->err, p->err.data, p->err.len) < 0)
    return -ENOMEM;
  return 0;
}

/* --------------------------------------------------------------- popen */

/* subprocess.Popen: start argv with opts' stdio (opts->input and timeout
 * are not used here).  An exec failure is returned as -errno. */
int ft_popen_new(ft_loop *loop, char *const argv[], const ft_run_opts *opts, ft_popen **out) {
  static const ft_run_opts none;
  ft_popen *p = NULL;
  int rc;
  if (!out)
    return FT_EINVAL;
  *out = NULL;
  if (!loop || !argv || !argv[0])
    return FT_EINVAL;
  if (!opts)
    opts = &none;
  p = ft__xalloc(sizeof *p);
  if (!p)
    return -ENOMEM;
  p->loop = loop;
  ft_process_opts po = {.name = opts->name,
                        .argv = argv,
                        .envp = opts->envp,
                        .cwd = opts->cwd,
                        .in = opts->in,
                        .out = opts->out,
                        .err = opts->err,
                        .role = "subprocess"};
  if ((rc = ft_process_new(loop, &po, &p->proc)) < 0)
    goto fail;
  if ((rc = ft_process_start(p->proc)) < 0)
    goto fail; /* exec failed: the child was already reaped by the spawn */
  *out = p;
  return 0;
fail:
  ft_popen_free(p);
  return rc;
}

/* Popen.communicate: write input to stdin (a pipe) and close it, collect
 * the stdout and stderr pipes until EOF, and wait for the exit.  res gets
 * the output, the pid and the exit code.  On FT_ETIMEDOUT the child keeps
 * running, res holds a copy of the output so far, and a later call (with
 * no input) continues where this one stopped.  res is overwritten: free an
 * earlier result first.  res may be NULL to drop the output. */
int ft_popen_communicate(ft_popen *p, ft_slice input, double timeout, ft_run_result *res) {
  if (res)
    memset(res, 0, sizeof *res);
  if (!p)
    return FT_EINVAL;
  if (res)
    res->pid = ft_process_pid(p->proc);
  int rc = ft__loop_check(p->loop);
  if (rc)
    return rc;
  bool has_input = input.ptr && input.len;
  if (p->started && has_input)
    return FT_ESTATE; /* as Python: no input once communication started */
  if (!p->started) {
    if (has_input && ft_process_stdio_fd(p->proc, 0) < 0)
      return FT_EINVAL; /* stdin is not a pipe */
    if ((rc = ft__popen_start_io(p, input)) < 0)
      return rc;
  }
  rc = ft__loop_run_until(p->loop, ft__popen_done, p, ft__deadline(timeout));
  if (rc == FT_ETIMEDOUT) {
    ft__popen_keep_input(p);
    if (res && ft__popen_copy_output(p, res) < 0)
      ft_run_result_free(res);
    return rc;
  }
  if (rc < 0)
    return rc;
  if (res) {
    res->out = p->out;
    res->err = p->err;
    memset(&p->out, 0, sizeof p->out);
    memset(&p->err, 0, sizeof p->err);
    ft_process_exitcode(p->proc, &res->exitcode);
  }
  return p->io_err;
}

/* Popen.wait: wait up to timeout seconds for the exit; *exitcode (may be
 * NULL) gets the exit code.  Pipes are not read: a child blocked on a full
 * stdout pipe never exits (use communicate). */
int ft_popen_wait(ft_popen *p, double timeout, int *exitcode) {
  if (!p)
    return FT_EINVAL;
  int rc = ft_process_join(p->proc, timeout);
  if (rc == 0 && exitcode)
    ft_process_exitcode(p->proc, exitcode);
  return rc;
}

/* The underlying process. */
ft_process *ft_popen_process(ft_popen *p) { return p ? p->proc : NULL; }

/* Free: a running child is killed (SIGKILL) and, unless this is called from
 * inside a loop callback, reaped before returning (from a callback the loop
 * reaps it later).  Open pipes are closed. */
void ft_popen_free(ft_popen *p) {
  if (!p)
    return;
  if (ft_process_is_alive(p->proc)) {
    ft_process_kill(p->proc);
    if (ft__loop_check(p->loop) == 0)
      ft_process_join(p->proc, -1);
  }
  for (int s = 0; s < 3; s++)
    ft__popen_close_stream(p, s);
  ft_process_free(p->proc);
  ft_buf_free(&p->out);
  ft_buf_free(&p->err);
  ft_buf_free(&p->in_keep);
  free(p);
}

/* ------------------------------------------------------- call, run, ... */

/* Release the buffers of a run result. */
void ft_run_result_free(ft_run_result *r) {
  if (!r)
    return;
  ft_buf_free(&r->out);
  ft_buf_free(&r->err);
}

/* subprocess.run: start argv (stdin a pipe fed with opts->input when
 * input.ptr is set), exchange through communicate, wait.  On timeout the
 * child is killed and reaped, res keeps what was collected and its exit
 * code (-SIGKILL), and FT_ETIMEDOUT is returned.  res is overwritten. */
int ft_subprocess_run(ft_loop *loop, char *const argv[], const ft_run_opts *opts,
                      ft_run_result *res) {
  ft_popen *p = NULL;
  if (!res)
    return FT_EINVAL;
  memset(res, 0, sizeof *res);
  ft_run_opts o = {0};
  if (opts)
    o = *opts;
  int rc = ft__loop_check(loop);
  if (rc)
    return rc;
  if (o.input.ptr) {
    if (o.in.mode != FT_STDIO_DEFAULT && o.in.mode != FT_STDIO_PIPE)
      return FT_EINVAL; /* as Python: stdin and input are exclusive */
    o.in.mode = FT_STDIO_PIPE;
  }
  if ((rc = ft_popen_new(loop, argv, &o, &p)) < 0)
    return rc;
  rc = ft_popen_communicate(p, o.input, o.timeout > 0 ? o.timeout : -1, res);
  if (rc == FT_ETIMEDOUT) {
    /* Python's run kills on timeout and waits; only the exit is awaited
     * here, not EOF, since a grandchild may still hold the pipes. */
    ft_process_kill(p->proc);
    int wrc = ft_process_join(p->proc, -1);
    if (wrc < 0)
      rc = wrc;
    else
      ft_process_exitcode(p->proc, &res->exitcode);
  }
  ft_popen_free(p);
  return rc;
}

/* subprocess.call: run argv (stdout and stderr captured as output events
 * unless opts say otherwise) and give its exit code in *exitcode (also set
 * after a timeout, when the killed child was reaped). */
int ft_subprocess_call(ft_loop *loop, char *const argv[], const ft_run_opts *opts, int *exitcode) {
  ft_run_result res;
  int rc = ft_subprocess_run(loop, argv, opts, &res);
  if (exitcode && (rc == 0 || rc == FT_ETIMEDOUT))
    *exitcode = res.exitcode;
  ft_run_result_free(&res);
  return rc;
}

/* subprocess.check_output: stdout and stderr are collected into res->out
 * and res->err (unless opts give them another place); a non-zero exit code
 * is FT_EFAILED, with res->exitcode and res->err telling why. */
int ft_subprocess_check_output(ft_loop *loop, char *const argv[], const ft_run_opts *opts,
                               ft_run_result *res) {
  ft_run_opts o = {0};
  if (opts)
    o = *opts;
  if (o.out.mode == FT_STDIO_DEFAULT)
    o.out.mode = FT_STDIO_PIPE;
  if (o.err.mode == FT_STDIO_DEFAULT)
    o.err.mode = FT_STDIO_PIPE;
  int rc = ft_subprocess_run(loop, argv, &o, res);
  if (rc == 0 && res->exitcode != 0)
    rc = FT_EFAILED;
  return rc;
}
