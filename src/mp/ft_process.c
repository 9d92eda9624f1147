/* ft_process.c - Process: a C function or an exec'd argv in a child, with
 * start, join, terminate, kill and a Python-style exit code. */
#include "ft_internal.h"

#include <unistd.h>

struct ft_process {
  ft_loop *loop;
  ft__slab *slab; /* where this record lives: it may outlive the loop */
  ft__spawn_opts so;
  char **argv; /* our copies */
  char **envp;
  char *name, *cwd, *in_path, *out_path, *err_path;
  ft__child *child;
  pid_t pid, ppid;
  bool exited;
  int exitcode;
  char namebuf[40]; /* name, unless it is longer */
};

/* A Process is a slab record (see ft__slab_alloc): the parent writes it
 * after every fork. */
_Static_assert(sizeof(struct ft_process) <= FT__SLAB_BLOCK, "a Process fits a slab block");

static void ft__strv_free(char **v) {
  if (!v)
    return;
  for (char **p = v; *p; p++)
    free(*p);
  free(v);
}

static int ft__strv_dup(char *const *v, char ***out) {
  *out = NULL;
  if (!v)
    return 0;
  size_t n = 0;
  while (v[n])
    n++;
  char **d = ft__xalloc((n + 1) * sizeof *d);
  if (!d)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++)
    if (!(d[i] = strdup(v[i]))) {
      ft__strv_free(d);
      return -ENOMEM;
    }
  *out = d;
  return 0;
}

/* Copy a string option; false only when the copy failed. */
static bool ft__dup_opt(const char *s, char **dst) {
  *dst = ft__strdup(s);
  return !s || *dst;
}

/* Create a process; nothing runs until ft_process_start. */
int ft_process_new(ft_loop *loop, const ft_process_opts *opts, ft_process **out) {
  int rc;
  *out = NULL;
  if (!loop || !opts || !opts->target == !opts->argv || (opts->argv && !opts->argv[0]))
    return FT_EINVAL;
  if (loop->pid != ft__getpid())
    return FT_EFORKED;
  ft_process *p = ft__slab_alloc(loop->slab);
  if (!p)
    return -ENOMEM;
  p->slab = loop->slab;
  p->loop = loop;
  if ((rc = ft__strv_dup(opts->argv, &p->argv)) < 0 ||
      (rc = ft__strv_dup(opts->envp, &p->envp)) < 0)
    goto fail;
  rc = -ENOMEM;
  p->name = ft__name_dup(opts->name   ? opts->name
                         : opts->argv ? opts->argv[0]
                                      : "process",
                         p->namebuf, sizeof p->namebuf);
  if (!p->name || !ft__dup_opt(opts->cwd, &p->cwd) || !ft__dup_opt(opts->in.path, &p->in_path) ||
      !ft__dup_opt(opts->out.path, &p->out_path) || !ft__dup_opt(opts->err.path, &p->err_path))
    goto fail;
  ft__spawn_opts *so = &p->so;
  so->name = p->name;
  so->role = opts->role ? opts->role : "process";
  so->worker = -1;
  so->target = opts->target;
  so->arg = opts->arg;
  so->argv = p->argv;
  so->envp = p->envp;
  so->cwd = p->cwd;
  so->in = opts->in;
  so->in.path = p->in_path;
  so->out = opts->out;
  so->out.path = p->out_path;
  so->err = opts->err;
  so->err.path = p->err_path;
  *out = p;
  return 0;
fail:
  ft_process_free(p);
  return rc;
}

static void ft__process_on_exit(ft__child *c, void *owner) {
  ft_process *p = owner;
  p->exited = true;
  p->exitcode = ft__child_exitcode(c);
}

/* Fork (and exec).  Starting twice is FT_ESTATE. */
int ft_process_start(ft_process *p) {
  if (!p)
    return FT_EINVAL;
  if (p->pid)
    return FT_ESTATE;
  p->so.on_exit = ft__process_on_exit;
  p->so.owner = p;
  ft__child *c;
  int rc = ft__spawn(p->loop, &p->so, &c);
  if (rc < 0)
    return rc;
  p->child = c;
  p->pid = c->pid;
  p->ppid = c->ppid;
  return 0;
}

static bool ft__process_exited(void *ud) { return ((ft_process *)ud)->exited; }

/* Wait for exit, turning the loop meanwhile. */
int ft_process_join(ft_process *p, double timeout) {
  if (!p)
    return FT_EINVAL;
  if (!p->pid)
    return FT_ESTATE;
  return ft__loop_run_until(p->loop, ft__process_exited, p, ft__deadline(timeout));
}

/* Send any signal to the running child. */
int ft_process_signal(ft_process *p, int signo) {
  if (!p || !p->child)
    return FT_ESTATE;
  if (p->exited)
    return 0; /* as Python: signalling a finished process does nothing */
  return ft__child_signal(p->child, signo);
}

/* SIGTERM. */
int ft_process_terminate(ft_process *p) { return ft_process_signal(p, SIGTERM); }

/* SIGKILL. */
int ft_process_kill(ft_process *p) { return ft_process_signal(p, SIGKILL); }

/* Started and not yet reaped. */
bool ft_process_is_alive(const ft_process *p) { return p && p->pid && !p->exited; }

/* Exit code once exited. */
int ft_process_exitcode(const ft_process *p, int *code) {
  if (!p || !p->exited)
    return FT_ENOTEXITED;
  *code = p->exitcode;
  return 0;
}

/* Pid, 0 before start. */
pid_t ft_process_pid(const ft_process *p) { return p ? p->pid : 0; }

/* Parent pid. */
pid_t ft_process_ppid(const ft_process *p) { return p ? p->ppid : 0; }

/* Name. */
const char *ft_process_name(const ft_process *p) { return p ? p->name : NULL; }

/* Parent end of a FT_STDIO_PIPE stream. */
int ft_process_stdio_fd(const ft_process *p, int stream) {
  if (!p || !p->child || stream < 0 || stream > 2)
    return -1;
  return p->child->pipe_fd[stream];
}

/* Take ownership of the parent end of a FT_STDIO_PIPE stream (-1 if none). */
int ft__process_take_fd(ft_process *p, int stream) {
  if (!p || !p->child || stream < 0 || stream > 2)
    return -1;
  int fd = p->child->pipe_fd[stream];
  p->child->pipe_fd[stream] = -1;
  return fd;
}

ft_loop *ft__process_loop(const ft_process *p) { return p->loop; }

/* Free; a live child is killed and reaped by the loop.  In a forked child
 * of the loop's process this does nothing: the record is the parent's, in
 * memory shared with it (ft__slab_alloc). */
void ft_process_free(ft_process *p) {
  if (!p || !ft__slab_owned(p->slab))
    return;
  ft__child_release(p->child);
  ft__strv_free(p->argv);
  ft__strv_free(p->envp);
  ft__name_free(p->name, p->namebuf);
  free(p->cwd);
  free(p->in_path);
  free(p->out_path);
  free(p->err_path);
  ft__slab_free(p->slab, p);
}
