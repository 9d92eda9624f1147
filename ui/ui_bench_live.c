/* ui_bench_live.c - the live view of `forktop bench` wired to each run's
 * loop.  The terminal is taken once for the whole sweep; every run makes a
 * loop of its own (one loop at a time per process), so the view attaches
 * to each: an event hook counts the run's tasks, a timer marks a frame due
 * once per refresh period (10 a second by default), a before-sleep hook
 * draws it, stdin is watched for keys and SIGWINCH for resizes.
 *
 * Signals.  SIGINT, SIGTERM and SIGHUP are blocked for the whole sweep, so
 * that one arriving between two runs (when no loop routes it) stays pending
 * instead of killing us with the terminal in raw mode; while a run's loop
 * is up they come through its signalfd, and between runs and at the end
 * they are collected with sigtimedwait.  Any of them, q, or Ctrl-C (a key:
 * the terminal is raw) stops the running workload and ends the sweep. */
#include "ui_bench.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "ui_bench_view.h"

#define UI__NS 1000000000ull

struct ui_bench_live {
  ui_term *term;
  ui_grid grid;
  ui_bench_state st;
  ft_loop *loop;        /* the run's loop while attached */
  void (*stop)(void *); /* stops the run while attached (NULL on the final screen) */
  void *stop_ud;
  ft_timer *timer;
  bool hooked, sleeping, watching, winch, sigs;
  bool due, redraw;
  bool stopped; /* the running workload was told to stop */
  bool hungup;  /* the terminal went away */
  bool waiting; /* the final screen: any key closes it */
  bool closed;  /* ... and one did */
  int abort;    /* 0, or the exit status asked for: 1 for q, 128 + signal */
  uint64_t period, t_sweep0, t_run0;
  const size_t *alive; /* the run's tree while attached (ui_bench_live_tree) */
  const uint64_t *total, *peak;
  sigset_t blocked, oldmask;
};

static const int ui__stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define UI__NSTOP (sizeof ui__stop_signals / sizeof ui__stop_signals[0])

/* ------------------------------------------------------------- drawing */

/* The tree's counters, read while the run is attached. */
static void ui__tree(ui_bench_live *l) {
  if (!l->alive)
    return;
  l->st.procs_alive = *l->alive;
  l->st.procs_total = *l->total;
  l->st.procs_peak = *l->peak;
}

static void ui__frame(ui_bench_live *l) {
  uint64_t now = ft_now_ns();
  ui__tree(l);
  if (l->st.running)
    l->st.elapsed = (double)(now - l->t_run0) / 1e9;
  if (!l->st.finished)
    l->st.sweep_elapsed = (double)(now - l->t_sweep0) / 1e9;
  l->due = l->redraw = false;
  int w, h;
  ui_term_size(l->term, &w, &h);
  if (ui_grid_resize(&l->grid, w, h) < 0)
    return;
  ui_bench_view_render(&l->grid, &l->st, NULL);
  ui_term_draw(l->term, &l->grid);
}

/* The window may have changed size while no loop routed SIGWINCH: ask the
 * kernel, and tell curses only when it did (a resize redraws everything). */
static void ui__check_size(ui_bench_live *l) {
  struct winsize ws;
  int w, h;
  ui_term_size(l->term, &w, &h);
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0 &&
      (ws.ws_col != w || ws.ws_row != h))
    ui_term_resize(l->term);
}

/* --------------------------------------------------------- what stops it */

/* Stop the sweep with an exit status; the running workload gets SIGTERM
 * now and SIGKILL a second later, and its loop runs on until it is done. */
static void ui__abort(ui_bench_live *l, int status) {
  if (!l->abort)
    l->abort = status;
  if (l->stop && !l->stopped) {
    l->stopped = true;
    l->stop(l->stop_ud);
  }
  if (l->loop && l->waiting)
    ft_loop_stop(l->loop);
}

static void ui__key(ui_bench_live *l, const ui_key *k) {
  l->redraw = true;
  if (k->code == UI_K_NONE || k->code == UI_K_MOUSE)
    return; /* a resize, Ctrl-L, a click: draw again */
  if (l->waiting) {
    l->closed = true; /* the final screen: any key */
    if (l->loop)
      ft_loop_stop(l->loop);
    return;
  }
  if (k->code == 'q' || k->code == 'Q')
    ui__abort(l, 1);
  else if (k->code == UI_K_CTRL_C)
    ui__abort(l, 128 + SIGINT);
}

static void ui__on_stdin(int fd, uint32_t events, void *ud) {
  ui_bench_live *l = ud;
  ui_key k;
  /* bounded: a terminal that never runs dry must not hold the loop */
  for (int n = 0; n < 256 && ui_term_key(l->term, &k); n++)
    ui__key(l, &k);
  /* The terminal went away: nobody is watching.  Stop reading (a hung-up
   * fd is always readable) and stop the sweep as SIGHUP would. */
  if (events & (EPOLLHUP | EPOLLERR)) {
    ft_loop_unwatch_fd(l->loop, fd);
    l->watching = false;
    l->hungup = true;
    ui__abort(l, 128 + SIGHUP);
  }
}

static void ui__on_signal(int signo, void *ud) { ui__abort(ud, 128 + signo); }

/* After detach and until the loop is freed: only note the signal (the
 * runner it would stop may be gone). */
static void ui__on_late_signal(int signo, void *ud) {
  ui_bench_live *l = ud;
  if (!l->abort)
    l->abort = 128 + signo;
}

static void ui__on_winch(int signo, void *ud) {
  (void)signo;
  ui_bench_live *l = ud;
  ui_term_resize(l->term);
  l->redraw = true;
}

static void ui__count(const ft_event *ev, void *ud) {
  ui_bench_live *l = ud;
  if (ev->kind == FT_EV_SUBMIT)
    l->st.tasks_total += ev->u.submit.count;
  else if (ev->kind == FT_EV_TASK_DONE)
    l->st.tasks_done++;
  else if (ev->kind == FT_EV_TASK_FAIL)
    l->st.tasks_failed++;
}

static void ui__before_sleep(ft_loop *loop, void *ud) {
  (void)loop;
  ui_bench_live *l = ud;
  if (l->due || l->redraw)
    ui__frame(l);
}

static void ui__tick(ft_timer *t, void *ud) {
  (void)t;
  ui_bench_live *l = ud;
  l->due = true;
}

/* Signals that came while no loop was up (they were blocked), and keys. */
static void ui__poll(ui_bench_live *l) {
  struct timespec zero = {0, 0};
  int signo;
  while ((signo = sigtimedwait(&l->blocked, NULL, &zero)) > 0)
    ui__abort(l, 128 + signo);
  ui_key k;
  for (int n = 0; n < 256 && !l->hungup && ui_term_key(l->term, &k); n++)
    ui__key(l, &k);
}

/* ------------------------------------------------------------- the API */

/* Take over the terminal for the sweep; -ENOTTY without one. */
int ui_bench_live_open(const ui_bench_opts *bo, int delay_tenths, bool ascii, const char *workload,
                       const char *size_name, const ui_bench_result *res, ui_bench_live **out) {
  ui_bench_live *l = calloc(1, sizeof *l);
  if (!l)
    return -ENOMEM;
  sigemptyset(&l->blocked);
  for (size_t i = 0; i < UI__NSTOP; i++)
    sigaddset(&l->blocked, ui__stop_signals[i]);
  int rc = pthread_sigmask(SIG_BLOCK, &l->blocked, &l->oldmask);
  if (rc != 0) {
    free(l);
    return -rc;
  }
  if ((rc = ui_term_open(&l->term)) < 0) {
    pthread_sigmask(SIG_SETMASK, &l->oldmask, NULL);
    free(l);
    return rc;
  }
  int tenths = delay_tenths > 0 ? delay_tenths : 1;
  l->period = (uint64_t)tenths * UI__NS / 10;
  l->t_sweep0 = ft_now_ns();
  l->st = (ui_bench_state){.workload = workload,
                           .size_name = size_name,
                           .cpus = ft_cpu_count(),
                           .sizes = bo->sizes,
                           .nsizes = bo->nsizes,
                           .runs = bo->runs,
                           .warmup = bo->warmup,
                           .run = -bo->warmup,
                           .res = res,
                           .ascii = ascii,
                           .utf8 = ui_term_utf8(l->term)};
  ui__frame(l);
  *out = l;
  return 0;
}

/* A run begins: size index i of the sweep, run k (negative: a warm-up). */
void ui_bench_live_run_begin(ui_bench_live *l, size_t i, int k) {
  l->st.cur = i;
  l->st.run = k;
  l->st.running = true;
  l->st.tasks_total = l->st.tasks_done = l->st.tasks_failed = 0;
  l->st.procs_alive = l->st.procs_total = l->st.procs_peak = 0;
  l->st.elapsed = 0;
  l->t_run0 = ft_now_ns();
  l->stopped = false;
}

/* Wire the view to a run's loop (stop NULL: the final screen). */
int ui_bench_live_attach(ui_bench_live *l, ft_loop *loop, void (*stop)(void *), void *ud) {
  int rc;
  bool runner = stop != NULL;
  l->loop = loop;
  l->stop = stop;
  l->stop_ud = ud;
  ui__check_size(l);
  if (runner) {
    if ((rc = ft_loop_add_hook(loop, ui__count, l)) < 0)
      goto fail;
    l->hooked = true;
  }
  if ((rc = ft_loop_add_before_sleep(loop, ui__before_sleep, l)) < 0)
    goto fail;
  l->sleeping = true;
  if (!l->hungup) {
    if ((rc = ft_loop_watch_fd(loop, STDIN_FILENO, false, ui__on_stdin, l)) < 0)
      goto fail;
    l->watching = true;
  }
  if ((rc = ft_loop_on_signal(loop, SIGWINCH, ui__on_winch, l)) < 0)
    goto fail;
  l->winch = true;
  l->sigs = true;
  for (size_t i = 0; i < UI__NSTOP; i++)
    if ((rc = ft_loop_on_signal(loop, ui__stop_signals[i], ui__on_signal, l)) < 0)
      goto fail;
  if (runner && ((rc = ft_timer_new(loop, &l->timer)) < 0 ||
                 (rc = ft_timer_start(l->timer, l->period, l->period, ui__tick, l)) < 0))
    goto fail;
  l->redraw = true;
  return 0;
fail:
  ui_bench_live_detach(l);
  return rc;
}

/* Show the run's tree as it grows, until detach. */
void ui_bench_live_tree(ui_bench_live *l, const size_t *alive, const uint64_t *total,
                        const uint64_t *peak) {
  if (!l)
    return;
  l->alive = alive;
  l->total = total;
  l->peak = peak;
}

/* Unwire from the loop before the runner and the loop are freed. */
void ui_bench_live_detach(ui_bench_live *l) {
  if (!l || !l->loop)
    return;
  ui__tree(l); /* the last counts stay on screen; the counters go with the run */
  l->alive = NULL;
  l->total = l->peak = NULL;
  if (l->hooked)
    ft_loop_remove_hook(l->loop, ui__count, l);
  if (l->sleeping)
    ft_loop_remove_before_sleep(l->loop, ui__before_sleep, l);
  if (l->watching)
    ft_loop_unwatch_fd(l->loop, STDIN_FILENO);
  if (l->winch)
    ft_loop_on_signal(l->loop, SIGWINCH, NULL, NULL);
  /* not NULL for these: that would unblock them, and one pending would
   * kill us with the terminal raw; the late handler only takes note */
  if (l->sigs)
    for (size_t i = 0; i < UI__NSTOP; i++)
      ft_loop_on_signal(l->loop, ui__stop_signals[i], ui__on_late_signal, l);
  ft_timer_free(l->timer);
  l->timer = NULL;
  l->hooked = l->sleeping = l->watching = l->winch = l->sigs = false;
  if (l->st.running)
    l->st.elapsed = (double)(ft_now_ns() - l->t_run0) / 1e9;
  l->st.running = false;
  l->loop = NULL;
  l->stop = NULL;
}

/* Between runs: take the keys and signals that came meanwhile; draw. */
void ui_bench_live_poll(ui_bench_live *l, size_t sizes_done) {
  l->st.done = sizes_done;
  ui__poll(l);
  ui__check_size(l);
  ui__frame(l);
}

/* 0 while the sweep may go on, else the exit status asked for. */
int ui_bench_live_aborted(const ui_bench_live *l) { return l ? l->abort : 0; }

/* The sweep is over: show the final screen until a key (not when the
 * sweep was stopped or the terminal is gone). */
void ui_bench_live_finish(ui_bench_live *l, size_t sizes_done) {
  l->st.done = sizes_done;
  l->st.finished = true;
  l->st.running = false;
  l->st.sweep_elapsed = (double)(ft_now_ns() - l->t_sweep0) / 1e9;
  l->waiting = true; /* from here any key closes, q included: the work is done */
  ui__poll(l);
  ui__frame(l);
  ft_loop *loop = NULL;
  if (l->abort || l->hungup || l->closed || ft_loop_new(&loop) < 0) {
    l->waiting = false;
    return;
  }
  int rc = ui_bench_live_attach(l, loop, NULL, NULL);
  while (rc >= 0 && !l->closed && !l->abort)
    rc = ft_loop_run(loop, FT_RUN_ONCE);
  ui_bench_live_detach(l);
  ft_loop_free(loop);
  l->waiting = false;
}

/* Restore the terminal and free; returns what ui_bench_live_aborted would. */
int ui_bench_live_close(ui_bench_live *l) {
  if (!l)
    return 0;
  ui_bench_live_detach(l);
  ui_term_close(l->term);
  /* a stop signal still pending is taken here, not left to kill us once
   * the mask is restored */
  struct timespec zero = {0, 0};
  int signo;
  while ((signo = sigtimedwait(&l->blocked, NULL, &zero)) > 0)
    if (!l->abort)
      l->abort = 128 + signo;
  pthread_sigmask(SIG_SETMASK, &l->oldmask, NULL);
  int status = l->abort;
  ui_grid_free(&l->grid);
  free(l);
  return status;
}
