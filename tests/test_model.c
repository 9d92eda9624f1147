/* test_model.c - the model built from events: the tree, exits and the
 * exit log, pools and their rates, queues and their sparklines, bounded
 * output and expiry, pid reuse, paused copies, and libproc2 reads. */
#include "ft_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ft_model.h"

#define S 1000000000ull
#define ROOT 1000
#define T0 (100 * S)

static ft_model *mk(size_t max_exited, uint64_t linger_ns) {
  ft_model *m;
  ft_model_opts o = {.root_pid = ROOT, .t0 = T0, .max_exited = max_exited, .linger_ns = linger_ns};
  assert_int_equal(ft_model_new(&o, &m), 0);
  return m;
}

static void spawn(ft_model *m, uint64_t t, pid_t pid, const char *name, const char *role,
                  int worker) {
  ft_event ev = {.kind = FT_EV_SPAWN, .t_ns = t, .pid = pid, .ppid = ROOT, .name = name};
  ev.u.spawn.role = role;
  ev.u.spawn.worker = worker;
  assert_int_equal(ft_model_apply(m, &ev), 0);
}

static void die(ft_model *m, uint64_t t, pid_t pid, const char *name, int code, int sig,
                bool orphan) {
  ft_event ev = {.kind = FT_EV_EXIT, .t_ns = t, .pid = pid, .ppid = ROOT, .name = name};
  ev.u.exit.code = code;
  ev.u.exit.signal = sig;
  ev.u.exit.orphan = orphan;
  assert_int_equal(ft_model_apply(m, &ev), 0);
}

static void task(ft_model *m, ft_event_kind kind, uint64_t t, pid_t pid, const char *pool,
                 uint64_t n) {
  ft_event ev = {.kind = kind, .t_ns = t, .pid = pid, .ppid = ROOT, .name = pool};
  ev.u.task.task = n;
  if (kind == FT_EV_TASK_FAIL) {
    ev.u.task.status = FT_ETASK;
    ev.u.task.code = 3;
  }
  assert_int_equal(ft_model_apply(m, &ev), 0);
}

static void output(ft_model *m, uint64_t t, pid_t pid, const char *line, size_t len) {
  ft_event ev = {.kind = FT_EV_OUTPUT, .t_ns = t, .pid = pid, .ppid = ROOT, .name = "p"};
  ev.u.output.stream = 1;
  ev.u.output.line = line;
  ev.u.output.len = len;
  assert_int_equal(ft_model_apply(m, &ev), 0);
}

static const ft_mproc *find(ft_model *m, pid_t pid) {
  const ft_model_snap *s = ft_model_snapshot(m);
  ssize_t i = ft_model_snap_find(s, pid);
  return i < 0 ? NULL : &s->procs[i];
}

/* The supervisor is the root row; a spawned child hangs under it; exits
 * are kept with their code or signal, counted, and logged newest first. */
static void test_tree_and_exits(void **state) {
  (void)state;
  ft_model *m = mk(0, 0);
  assert_non_null(find(m, ROOT));
  assert_int_equal(find(m, ROOT)->role, FT_MROLE_ROOT);
  spawn(m, T0 + 1, 2001, "producer", "process", -1);
  spawn(m, T0 + 2, 2002, "main", "worker", 0);
  spawn(m, T0 + 3, 2003, "main", "worker", 1);
  const ft_model_snap *s = ft_model_snapshot(m);
  assert_int_equal(s->nprocs, 4);
  assert_int_equal(s->totals.running, 3);
  assert_int_equal(find(m, 2002)->ppid, ROOT);
  assert_int_equal(find(m, 2003)->worker, 1);
  assert_int_equal(find(m, 2003)->role, FT_MROLE_WORKER);
  assert_string_equal(find(m, 2001)->name, "producer");

  die(m, T0 + 10, 2001, "producer", 0, 0, false);
  die(m, T0 + 11, 2002, "main", 0, SIGKILL, false);
  s = ft_model_snapshot(m);
  assert_int_equal(s->totals.running, 1);
  assert_int_equal(s->totals.exited, 2);
  assert_int_equal(s->totals.failed, 1);
  assert_true(find(m, 2002)->exited);
  assert_int_equal(find(m, 2002)->signal, SIGKILL);
  assert_true(ft_mproc_failed(find(m, 2002)));
  assert_false(ft_mproc_failed(find(m, 2001)));
  assert_int_equal(s->nexits, 2);
  assert_int_equal(ft_model_snap_exit(s, 0)->pid, 2002); /* newest first */
  assert_int_equal(ft_model_snap_exit(s, 0)->signal, SIGKILL);
  assert_int_equal(ft_model_snap_exit(s, 0)->worker, 0);
  assert_int_equal(ft_model_snap_exit(s, 1)->pid, 2001);
  assert_null(ft_model_snap_exit(s, 2));
  /* a second exit for the same pid changes nothing */
  uint64_t gen = s->gen;
  die(m, T0 + 12, 2002, "main", 5, 0, false);
  s = ft_model_snapshot(m);
  assert_int_equal(s->totals.exited, 2);
  assert_int_equal(find(m, 2002)->signal, SIGKILL);
  assert_true(s->gen != gen);
  ft_model_free(m);
}

static void exec_ev(ft_model *m, pid_t pid, const char *name, const char *path,
                    const char *const *argv, int err) {
  ft_event ev = {.kind = FT_EV_EXEC, .t_ns = T0 + 5, .pid = pid, .ppid = ROOT, .name = name};
  ev.u.exec.path = path;
  ev.u.exec.argv = argv;
  ev.u.exec.err = err;
  assert_int_equal(ft_model_apply(m, &ev), 0);
}

/* After an exec the process is the new program: named as the kernel
 * names it (the base name, 15 bytes at most), its command the new one; a
 * failed exec keeps the old name; a worker that never execs keeps its. */
static void test_exec_renames(void **state) {
  (void)state;
  ft_model *m = mk(0, 0);
  spawn(m, T0 + 1, 2001, "victim_b", "process", -1);
  spawn(m, T0 + 2, 2002, "shells", "task", -1);
  spawn(m, T0 + 3, 2003, "main", "worker", 0);
  spawn(m, T0 + 4, 2004, "victim_c", "process", -1);
  spawn(m, T0 + 4, 2005, "victim_d", "process", -1);
  const char *const argv[] = {"sleep", "100", NULL};
  exec_ev(m, 2001, "victim_b", "sleep", argv, 0);
  exec_ev(m, 2002, "shells", "/bin/sh", NULL, 0);
  exec_ev(m, 2004, "victim_c", "/nonexistent/prog", NULL, -ENOENT);
  exec_ev(m, 2005, "victim_d", "/opt/x/a_program_with_a_long_name", NULL, 0);
  assert_string_equal(find(m, 2001)->name, "sleep");
  assert_string_equal(find(m, 2001)->cmd, "sleep");
  assert_string_equal(find(m, 2001)->args, "sleep 100");
  assert_string_equal(find(m, 2002)->name, "sh");
  assert_string_equal(find(m, 2002)->cmd, "/bin/sh");
  assert_string_equal(find(m, 2003)->name, "main");
  assert_string_equal(find(m, 2004)->name, "victim_c");
  assert_int_equal(find(m, 2004)->exec_err, -ENOENT);
  assert_string_equal(find(m, 2005)->name, "a_program_with_");
  die(m, T0 + 10, 2001, "victim_b", 0, SIGTERM, false);
  assert_string_equal(find(m, 2001)->name, "sleep");
  ft_model_free(m);
}

/* A replay does not know forktop's pid: it is learned from the events. */
static void test_root_learned_from_events(void **state) {
  (void)state;
  ft_model *m;
  assert_int_equal(ft_model_new(NULL, &m), 0);
  assert_int_equal(ft_model_snapshot(m)->root_pid, 0);
  ft_event ev = {.kind = FT_EV_POOL_START, .t_ns = 5, .pid = 777, .ppid = 1, .name = "main"};
  ev.u.pool.workers = 2;
  assert_int_equal(ft_model_apply(m, &ev), 0);
  const ft_model_snap *s = ft_model_snapshot(m);
  assert_int_equal(s->root_pid, 777);
  assert_int_equal(s->npools, 1);
  assert_int_equal(s->pools[0].workers, 2);
  assert_int_equal(find(m, 777)->role, FT_MROLE_ROOT);
  assert_int_equal(find(m, 777)->ppid, 1); /* the supervisor's own parent */
  /* a spawned child of the supervisor hangs under it */
  ft_event sp = {.kind = FT_EV_SPAWN, .t_ns = 6, .pid = 778, .ppid = 777, .name = "main"};
  sp.u.spawn.role = "worker";
  sp.u.spawn.worker = 0;
  assert_int_equal(ft_model_apply(m, &sp), 0);
  assert_int_equal(find(m, 778)->ppid, 777);
  ft_model_free(m);
}

/* An orphan forktop did not fork: a row under the root, marked, counted
 * apart from the processes it forked. */
static void test_orphan_row(void **state) {
  (void)state;
  ft_model *m = mk(0, 0);
  die(m, T0 + 5, 4242, "sleep", 0, 0, true);
  const ft_mproc *p = find(m, 4242);
  assert_non_null(p);
  assert_int_equal(p->role, FT_MROLE_ORPHAN);
  assert_true(p->orphan);
  assert_int_equal(p->ppid, ROOT);
  const ft_model_snap *s = ft_model_snapshot(m);
  assert_int_equal(s->totals.orphans, 1);
  assert_int_equal(s->totals.exited, 0);
  assert_int_equal(s->totals.running, 0);
  assert_true(ft_model_snap_exit(s, 0)->orphan);
  ft_model_free(m);
}

/* Workers hold tasks; pools count submitted, done and failed tasks and
 * derive a rate and an ETA as time moves on. */
/* A grandchild whose parent exits is the subreaper's now: at the next tick
 * it hangs under forktop, marked as an orphan; its exit is counted as one.
 * A process outside forktop's tree (-p) moves where /proc says, unmarked. */
static void test_reparented_to_root(void **state) {
  (void)state;
  ft_model *m = mk(0, 0);
  spawn(m, T0 + 1, 2001, "sh", "watched", -1);
  ft_event ev = {.kind = FT_EV_SPAWN, .t_ns = T0 + 2, .pid = 2002, .ppid = 2001, .name = "sleep"};
  ev.u.spawn.worker = -1;
  assert_int_equal(ft_model_apply(m, &ev), 0);
  ft_model_tick(m, T0 + 3);
  assert_int_equal(find(m, 2002)->ppid, 2001);
  assert_false(find(m, 2002)->orphan);
  uint64_t gen = ft_model_gen(m);
  die(m, T0 + 4, 2001, "sh", 0, 0, false);
  ft_model_tick(m, T0 + 5);
  assert_int_equal(find(m, 2002)->ppid, ROOT);
  assert_true(find(m, 2002)->orphan);
  assert_true(ft_model_gen(m) > gen);
  die(m, T0 + 6, 2002, "sleep", 0, 0, true);
  assert_int_equal(ft_model_snapshot(m)->totals.orphans, 1);
  /* outside forktop's tree: the parent is unknown, nothing moves on a tick */
  ev = (ft_event){.kind = FT_EV_SPAWN, .t_ns = T0 + 7, .pid = 3002, .ppid = 3001, .name = "x"};
  ev.u.spawn.worker = -1;
  assert_int_equal(ft_model_apply(m, &ev), 0);
  ft_model_tick(m, T0 + 8);
  assert_int_equal(find(m, 3002)->ppid, 3001);
  ft_mstat st = {.pid = 3002, .ppid = 1, .state = 'S'};
  ft_model_set_stat(m, &st, T0 + 9);
  assert_int_equal(find(m, 3002)->ppid, 1);
  assert_false(find(m, 3002)->orphan);
  ft_model_free(m);
}

/* A zombie event marks the process and counts it against the parent that
 * fails to reap it, until the zombie is gone. */
static void test_zombies_per_parent(void **state) {
  (void)state;
  ft_model *m = mk(0, 0);
  spawn(m, T0 + 1, 2001, "parent", "watched", -1);
  for (pid_t z = 2002; z <= 2004; z++) {
    ft_event ev = {.kind = FT_EV_ZOMBIE, .t_ns = T0 + 2, .pid = z, .ppid = 2001, .name = "kid"};
    assert_int_equal(ft_model_apply(m, &ev), 0);
  }
  ft_model_tick(m, T0 + 3);
  assert_true(find(m, 2003)->zombie);
  assert_int_equal(find(m, 2003)->ppid, 2001);
  assert_int_equal(find(m, 2001)->zombie_kids, 3);
  assert_int_equal(ft_model_snapshot(m)->totals.zombies, 3);
  ft_model_zombie_gone(m, 2003);
  ft_model_tick(m, T0 + 4);
  assert_false(find(m, 2003)->zombie);
  assert_int_equal(find(m, 2001)->zombie_kids, 2);
  assert_int_equal(ft_model_snapshot(m)->totals.zombies, 2);
  ft_model_free(m);
}

static void test_pool_progress(void **state) {
  (void)state;
  ft_model *m = mk(0, 0);
  ft_event sub = {.kind = FT_EV_SUBMIT, .t_ns = T0, .pid = ROOT, .name = "main"};
  sub.u.submit.count = 20;
  assert_int_equal(ft_model_apply(m, &sub), 0);
  spawn(m, T0, 3001, "main", "worker", 0);
  spawn(m, T0, 3002, "main", "worker", 1);
  ft_model_tick(m, T0);
  uint64_t t = T0;
  for (uint64_t k = 0; k < 10; k++) {
    pid_t w = k % 2 ? 3002 : 3001;
    task(m, FT_EV_TASK_START, t, w, "main", k);
    assert_true(find(m, w)->busy);
    assert_int_equal(find(m, w)->task, k);
    t += S / 2;
    task(m, k == 7 ? FT_EV_TASK_FAIL : FT_EV_TASK_DONE, t, w, "main", k);
    assert_false(find(m, w)->busy);
    ft_model_tick(m, t);
  }
  const ft_model_snap *s = ft_model_snapshot(m);
  assert_int_equal(s->npools, 1);
  const ft_mpool *p = &s->pools[0];
  assert_int_equal(p->total, 20);
  assert_int_equal(p->done, 9);
  assert_int_equal(p->failed, 1);
  assert_int_equal(s->totals.tasks_total, 20);
  assert_int_equal(s->totals.tasks_done, 9);
  assert_int_equal(s->totals.tasks_failed, 1);
  /* two tasks a second; ten left: five seconds */
  assert_true(p->rate > 1.8 && p->rate < 2.2);
  assert_true(p->eta_s > 4.5 && p->eta_s < 5.5);
  assert_int_equal(find(m, 3001)->tasks_done, 5);
  assert_int_equal(find(m, 3002)->tasks_done, 4);
  assert_int_equal(find(m, 3002)->tasks_failed, 1);
  /* once every task has ended the rate is the run's own: 20 in 10 s */
  for (uint64_t k = 10; k < 20; k++) {
    task(m, FT_EV_TASK_START, t, 3001, "main", k);
    t += S / 2;
    task(m, FT_EV_TASK_DONE, t, 3001, "main", k);
  }
  ft_model_tick(m, t + 30 * S);
  s = ft_model_snapshot(m);
  p = &s->pools[0];
  assert_true(p->rate > 1.9 && p->rate < 2.1);
  assert_true(p->eta_s == 0);
  /* the failed task is in the exit log */
  const ft_mexit *e = ft_model_snap_exit(s, 0);
  assert_non_null(e);
  assert_int_equal(e->kind, FT_MEXIT_TASK_FAIL);
  assert_int_equal(e->task, 7);
  assert_int_equal(e->code, 3);
  ft_model_free(m);
}

/* A recycled or replaced worker: the old row points at the new pid and
 * the pool counts it; the log says so. */
static void test_worker_replaced(void **state) {
  (void)state;
  ft_model *m = mk(0, 0);
  spawn(m, T0, 3001, "main", "worker", 0);
  die(m, T0 + S, 3001, "main", 0, SIGKILL, false);
  spawn(m, T0 + S, 3005, "main", "worker", 0);
  ft_event ev = {
      .kind = FT_EV_WORKER_REPLACED, .t_ns = T0 + S, .pid = 3005, .ppid = ROOT, .name = "main"};
  ev.u.replaced.worker = 0;
  ev.u.replaced.old_pid = 3001;
  ev.u.replaced.new_pid = 3005;
  ev.u.replaced.reason = FT_REPLACE_DIED;
  assert_int_equal(ft_model_apply(m, &ev), 0);
  ev.u.replaced.reason = FT_REPLACE_RECYCLED;
  ev.u.replaced.old_pid = 3005;
  ev.u.replaced.new_pid = 3006;
  spawn(m, T0 + 2 * S, 3006, "main", "worker", 0);
  assert_int_equal(ft_model_apply(m, &ev), 0);
  assert_int_equal(find(m, 3001)->replaced_by, 3005);
  assert_int_equal(find(m, 3005)->replaces, 3001);
  assert_int_equal(find(m, 3005)->replace_reason, FT_REPLACE_RECYCLED);
  const ft_model_snap *s = ft_model_snapshot(m);
  assert_int_equal(s->pools[0].replaced, 1);
  assert_int_equal(s->pools[0].recycled, 1);
  const ft_mexit *e = ft_model_snap_exit(s, 0);
  assert_int_equal(e->kind, FT_MEXIT_REPLACED);
  assert_int_equal(e->pid, 3005);
  assert_int_equal(e->new_pid, 3006);
  ft_model_free(m);
}

/* Exited rows linger, then go; beyond max_exited the oldest go first;
 * live rows and the root always stay. */
static void test_expiry(void **state) {
  (void)state;
  ft_model *m = mk(3, 10 * S);
  for (pid_t p = 0; p < 6; p++)
    spawn(m, T0, 5000 + p, "x", "process", -1);
  for (pid_t p = 0; p < 5; p++)
    die(m, T0 + (uint64_t)(p + 1) * S, 5000 + p, "x", 0, 0, false);
  ft_model_tick(m, T0 + 6 * S);
  const ft_model_snap *s = ft_model_snapshot(m);
  assert_int_equal(s->nprocs, 1 + 1 + 3); /* root, the live one, the 3 newest exits */
  assert_null(find(m, 5000));
  assert_null(find(m, 5001));
  assert_non_null(find(m, 5002));
  assert_non_null(find(m, 5005));
  /* the map still finds everyone after compaction */
  assert_true(ft_model_alive(m, 5005));
  assert_false(ft_model_alive(m, 5002));
  ft_model_tick(m, T0 + 14 * S + 1); /* 5002 and 5003 exited more than 10 s ago */
  assert_null(find(m, 5002));
  assert_null(find(m, 5003));
  assert_non_null(find(m, 5004));
  ft_model_tick(m, T0 + 100 * S);
  s = ft_model_snapshot(m);
  assert_int_equal(s->nprocs, 2);
  assert_non_null(find(m, ROOT));
  assert_non_null(find(m, 5005));
  /* totals are not forgotten with the rows */
  assert_int_equal(s->totals.exited, 5);
  ft_model_free(m);
}

/* Output is kept raw (any byte, NUL included) in a bounded ring per
 * process, and in one ring for everybody. */
static void test_output_bounded(void **state) {
  (void)state;
  ft_model *m;
  ft_model_opts o = {.root_pid = ROOT, .t0 = T0, .out_lines = 4, .out_bytes = 64, .all_lines = 5};
  assert_int_equal(ft_model_new(&o, &m), 0);
  spawn(m, T0, 6001, "p", "process", -1);
  output(m, T0, 6001, "a\0b\x1b[2J", 7);
  const ft_mproc *p = find(m, 6001);
  assert_int_equal(p->out.n, 1);
  assert_int_equal(ft_mlines_get(&p->out, 0)->len, 7);
  assert_memory_equal(ft_mlines_get(&p->out, 0)->text, "a\0b\x1b[2J", 7);
  for (int i = 0; i < 10; i++) {
    char line[16];
    int n = snprintf(line, sizeof line, "line %d", i);
    output(m, T0 + (uint64_t)i, 6001, line, (size_t)n);
  }
  p = find(m, 6001);
  assert_int_equal(p->out.n, 4);
  assert_int_equal(p->out.total, 11);
  assert_memory_equal(ft_mlines_get(&p->out, 0)->text, "line 6", 6);
  assert_memory_equal(ft_mlines_get(&p->out, 3)->text, "line 9", 6);
  assert_null(ft_mlines_get(&p->out, 4));
  /* a long line is cut to the byte budget and flagged */
  char big[200];
  memset(big, 'x', sizeof big);
  output(m, T0 + 20, 6001, big, sizeof big);
  p = find(m, 6001);
  assert_int_equal(p->out.n, 1);
  assert_true(p->out.bytes <= 64);
  assert_true(ft_mlines_get(&p->out, 0)->truncated);
  const ft_model_snap *s = ft_model_snapshot(m);
  assert_int_equal(s->all_output->n, 5);
  assert_int_equal(ft_mlines_get(s->all_output, 4)->pid, 6001);
  ft_model_free(m);
}

/* A reused pid gets a fresh row (and the stale one's output goes). */
static void test_pid_reuse(void **state) {
  (void)state;
  ft_model *m = mk(0, 0);
  spawn(m, T0, 7001, "first", "process", -1);
  output(m, T0, 7001, "old", 3);
  die(m, T0 + S, 7001, "first", 1, 0, false);
  spawn(m, T0 + 2 * S, 7001, "second", "process", -1);
  const ft_mproc *p = find(m, 7001);
  assert_string_equal(p->name, "second");
  assert_false(p->exited);
  assert_int_equal(p->out.n, 0);
  const ft_model_snap *s = ft_model_snapshot(m);
  assert_int_equal(s->nprocs, 2);
  assert_int_equal(s->totals.running, 1);
  ft_model_free(m);
}

static void queue_sample(ft_model *m, uint64_t t, uint64_t puts, uint64_t gets, uint64_t depth) {
  ft_event ev = {.kind = FT_EV_QUEUE, .t_ns = t, .pid = ROOT, .name = "jobs"};
  ev.u.queue.puts = puts;
  ev.u.queue.gets = gets;
  ev.u.queue.depth = depth;
  ev.u.queue.capacity = 16;
  assert_int_equal(ft_model_apply(m, &ev), 0);
}

/* Queue rates come from differences between samples; the sparkline holds
 * the highest depth of each second and carries it over quiet seconds. */
static void test_queue_rates_and_spark(void **state) {
  (void)state;
  ft_model *m = mk(0, 0);
  /* 10 puts and 5 gets a second, sampled every 100 ms for 3 s */
  for (uint64_t i = 0; i <= 30; i++)
    queue_sample(m, T0 + i * S / 10, i, i / 2, i - i / 2 > 16 ? 16 : i - i / 2);
  const ft_model_snap *s = ft_model_snapshot(m);
  assert_int_equal(s->nqueues, 1);
  const ft_mqueue *q = &s->queues[0];
  assert_true(q->put_rate > 9.0 && q->put_rate < 11.0);
  assert_true(q->get_rate > 4.0 && q->get_rate < 6.0);
  assert_int_equal(q->st.capacity, 16);
  uint64_t sp[FT_MODEL_SPARK];
  ft_mqueue_spark(q, T0, T0 + 5 * S, sp);
  /* seconds 0..3 had samples, 4 and 5 repeat the last depth */
  assert_int_equal(sp[FT_MODEL_SPARK - 1], q->st.depth);
  assert_int_equal(sp[FT_MODEL_SPARK - 2], q->st.depth);
  assert_int_equal(sp[FT_MODEL_SPARK - 6], 5);  /* second 0: depths up to 9 - 4 */
  assert_int_equal(sp[FT_MODEL_SPARK - 5], 10); /* second 1: up to 19 - 9 */
  assert_int_equal(sp[0], 0);                   /* before the queue existed */
  /* no samples for a while: nothing moves any more */
  ft_model_tick(m, T0 + 10 * S);
  s = ft_model_snapshot(m);
  assert_true(s->queues[0].put_rate == 0.0);
  ft_model_free(m);
}

/* A paused display keeps a copy: later events do not change it. */
static void test_snapshot_copy(void **state) {
  (void)state;
  ft_model *m = mk(0, 0);
  spawn(m, T0, 8001, "p", "process", -1);
  output(m, T0, 8001, "hello", 5);
  ft_model_snap *c;
  assert_int_equal(ft_model_snap_copy(ft_model_snapshot(m), &c), 0);
  die(m, T0 + S, 8001, "p", 2, 0, false);
  spawn(m, T0 + S, 8002, "q", "process", -1);
  output(m, T0 + S, 8001, "world", 5);
  assert_int_equal(c->nprocs, 2);
  ssize_t i = ft_model_snap_find(c, 8001);
  assert_true(i >= 0);
  assert_false(c->procs[i].exited);
  assert_int_equal(c->procs[i].out.n, 1);
  assert_memory_equal(ft_mlines_get(&c->procs[i].out, 0)->text, "hello", 5);
  assert_int_equal(c->all_output->n, 1);
  assert_int_equal(c->nexits, 0);
  assert_int_equal(ft_model_snapshot(m)->nexits, 1);
  ft_model_snap_free(c);
  ft_model_snap_free(NULL);
  ft_model_free(m);
  ft_model_free(NULL);
}

/* The exit log is a bounded ring. */
static void test_exit_log_bounded(void **state) {
  (void)state;
  ft_model *m;
  ft_model_opts o = {.root_pid = ROOT, .t0 = T0, .log_max = 8};
  assert_int_equal(ft_model_new(&o, &m), 0);
  for (pid_t p = 0; p < 20; p++) {
    spawn(m, T0, 9000 + p, "x", "process", -1);
    die(m, T0 + (uint64_t)p, 9000 + p, "x", p, 0, false);
  }
  const ft_model_snap *s = ft_model_snapshot(m);
  assert_int_equal(s->nexits, 8);
  assert_int_equal(ft_model_snap_exit(s, 0)->pid, 9019);
  assert_int_equal(ft_model_snap_exit(s, 7)->pid, 9012);
  assert_int_equal(ft_model_snap_exit(s, 7)->code, 12);
  ft_model_free(m);
}

/* CPU % comes from the ticks between two reads. */
static void test_stat_cpu(void **state) {
  (void)state;
  ft_model *m = mk(0, 0);
  spawn(m, T0, 1234, "p", "process", -1);
  long hz = sysconf(_SC_CLK_TCK);
  ft_mstat st = {.pid = 1234, .state = 'R', .threads = 1, .ticks = 50, .rss_kb = 900};
  ft_model_set_stat(m, &st, T0 + S);
  st.ticks = 50 + (uint64_t)hz / 2; /* half a second of CPU in one second */
  st.rss_kb = 1000;
  ft_model_set_stat(m, &st, T0 + 2 * S);
  const ft_mproc *p = find(m, 1234);
  assert_true(p->cpu > 49.0 && p->cpu < 51.0);
  assert_int_equal(p->rss_kb, 1000);
  assert_int_equal(p->state, 'R');
  ft_model_tick(m, T0 + 2 * S);
  assert_int_equal(ft_model_snapshot(m)->totals.rss_kb, 1000);
  ft_model_free(m);
}

static int sleeper(void *arg) {
  (void)arg;
  /* touch some memory so RSS is visibly non-zero */
  static char buf[4 << 20];
  volatile char *page = buf; /* volatile: a memset of a buffer nobody reads may be dropped */
  for (size_t i = 0; i < sizeof buf; i += 4096)
    page[i] = 1;
  printf("ready\n");
  fflush(stdout);
  pause();
  return 0;
}

static int spin(void *arg) {
  (void)arg;
  volatile unsigned long x = 0;
  uint64_t end = ft_now_ns() + 3 * S;
  while (ft_now_ns() < end)
    x++;
  return 0;
}

/* End to end: a real loop feeds the model; ft_scan reads state, RSS and
 * CPU for the pids asked for (libproc2), and only for those. */
static void test_live_scan(void **state) {
  ft_test *t = *state;
  ft_model *m;
  ft_model_opts o = {.root_pid = getpid(), .t0 = ft_now_ns()};
  assert_int_equal(ft_model_new(&o, &m), 0);
  assert_int_equal(ft_loop_add_hook(t->loop, ft_model_hook, m), 0);
  ft_process *a, *b;
  ft_process_opts oa = {.name = "sleeper", .target = sleeper};
  ft_process_opts ob = {.name = "spin", .target = spin};
  assert_int_equal(ft_process_new(t->loop, &oa, &a), 0);
  assert_int_equal(ft_process_new(t->loop, &ob, &b), 0);
  assert_int_equal(ft_process_start(a), 0);
  assert_int_equal(ft_process_start(b), 0);
  pid_t pa = ft_process_pid(a), pb = ft_process_pid(b);
  uint64_t end = ft_now_ns() + 10 * S;
  while ((!find(m, pa) || find(m, pa)->out.n == 0) && ft_now_ns() < end)
    assert_int_equal(ft_loop_run(t->loop, FT_RUN_ONCE), 0);
  assert_non_null(find(m, pa));
  assert_int_equal(find(m, pa)->ppid, getpid());

  ft_scan *sc;
  assert_int_equal(ft_scan_new(&sc), 0);
  pid_t want[] = {pa, pb, 999999 /* no such process */};
  assert_int_equal(ft_scan_update(sc, m, want, 3, 0, ft_now_ns()), 0);
  assert_int_equal(ft_scan_last_count(sc), 2);
  /* The spinner's share of a core depends on the machine's load (a loaded
   * CI box gives it little): poll until it has been measured running. */
  const ft_mproc *ra, *rb;
  end = ft_now_ns() + 2 * S;
  do {
    usleep(100 * 1000);
    assert_int_equal(ft_scan_update(sc, m, want, 3, 0, ft_now_ns()), 0);
    ra = find(m, pa);
    rb = find(m, pb);
  } while (!(rb->cpu > 1.0 && rb->state == 'R') && ft_now_ns() < end);
  assert_int_equal(ra->state, 'S');
  assert_true(ra->rss_kb >= 4096);
  assert_int_equal(ra->threads, 1);
  assert_int_equal(rb->state, 'R');
  assert_true(rb->cpu > 1.0);
  assert_true(ra->cpu < rb->cpu);
  /* the root was not asked for: not read */
  assert_int_equal(find(m, getpid())->state, 0);
  /* extra: one more process in rotation (the root, the only other live one) */
  assert_int_equal(ft_scan_update(sc, m, want, 2, 1, ft_now_ns()), 0);
  assert_int_equal(ft_scan_last_count(sc), 3);
  assert_true(find(m, getpid())->state != 0);
  /* the pids asked for are read richly: user, nice, the command line (a
   * fork of this test: its argv); the rotating slice is not */
  ra = find(m, pa);
  assert_true(ra->rich);
  assert_int_equal(ra->uid, geteuid());
  assert_int_equal(ra->nice, getpriority(PRIO_PROCESS, 0));
  assert_non_null(strstr(ra->args, "test_model"));
  assert_false(find(m, getpid())->rich);
  assert_string_equal(find(m, getpid())->args, "");
  /* a slice of 4 reads one process never read richly that way (the root):
   * a filter can then match its command line */
  assert_int_equal(ft_scan_update(sc, m, want, 2, 4, ft_now_ns()), 0);
  assert_true(find(m, getpid())->rich);
  assert_non_null(strstr(find(m, getpid())->args, "test_model"));

  ft_process_kill(a);
  ft_process_kill(b);
  assert_int_equal(ft_process_join(a, 10), 0);
  assert_int_equal(ft_process_join(b, 10), 0);
  assert_true(find(m, pa)->exited);
  assert_int_equal(find(m, pa)->signal, SIGKILL);
  /* exited processes are not read again */
  assert_int_equal(ft_scan_update(sc, m, want, 2, 0, ft_now_ns()), 0);
  assert_int_equal(ft_scan_last_count(sc), 0);
  ft_loop_remove_hook(t->loop, ft_model_hook, m);
  ft_process_free(a);
  ft_process_free(b);
  ft_scan_free(sc);
  ft_scan_free(NULL);
  ft_model_free(m);
}

static void remote(ft_model *m, ft_event ev, uint32_t host) {
  ev.host = host;
  assert_int_equal(ft_model_apply(m, &ev), 0);
}

/* A remote pid equal to a live local pid (issue 16): two processes, never
 * one.  Events of (host 1, 2000) touch only that row, and the local 2000
 * keeps its task, its reads, its life; a remote parent that "exits" as a
 * local pid does never reparents a remote process to forktop.  Hosts:
 * named by their host event, summed per tick, lost with a cause. */
static void test_remote_pid_collision(void **state) {
  (void)state;
  ft_model *m = mk(0, 0);
  spawn(m, T0 + 1, 2000, "p", "worker", 0); /* the local worker 2000 */
  task(m, FT_EV_TASK_START, T0 + 2, 2000, "p", 1);
  spawn(m, T0 + 3, 2001, "srun", "process", -1); /* a local launcher */
  ft_event h = {.kind = FT_EV_HOST, .t_ns = T0 + 4, .pid = ROOT, .name = "node2"};
  h.u.host.launcher = "slurm";
  h.u.host.address = "10.0.0.2";
  h.u.host.job = "77";
  remote(m, h, 1);
  ft_event sp = {.kind = FT_EV_SPAWN, .t_ns = T0 + 5, .pid = 2000, .name = "p"};
  sp.u.spawn.role = "worker";
  sp.u.spawn.worker = 1;
  sp.u.spawn.launcher_pid = 2001;
  remote(m, sp, 1);
  sp.pid = 3000; /* a child of the remote worker; 2001 is its parent's pid there */
  sp.ppid = 2001;
  sp.u.spawn.role = "process";
  sp.u.spawn.worker = -1;
  remote(m, sp, 1);
  ft_event ts = {.kind = FT_EV_TASK_START, .t_ns = T0 + 6, .pid = 2000, .name = "p"};
  ts.u.task.task = 5;
  remote(m, ts, 1);
  ft_event st = {.kind = FT_EV_STAT, .t_ns = T0 + 7, .pid = 2000};
  st.u.stat.state = 'R';
  st.u.stat.cpu = 50;
  st.u.stat.rss_kb = 1000;
  st.u.stat.threads = 1;
  remote(m, st, 1);
  ft_model_tick(m, T0 + 8);

  const ft_model_snap *s = ft_model_snapshot(m);
  ssize_t li = ft_model_snap_find(s, 2000), ri = ft_model_snap_find_on(s, 1, 2000);
  assert_true(li >= 0 && ri >= 0 && li != ri);
  const ft_mproc *lp = &s->procs[li], *rp = &s->procs[ri];
  assert_int_equal(lp->host, 0);
  assert_int_equal(rp->host, 1);
  assert_int_equal(lp->task, 1);
  assert_int_equal(rp->task, 5);
  assert_true(lp->busy && rp->busy);
  assert_true(lp->cpu == 0 && lp->rss_kb == 0 && lp->state == 0);
  assert_true(rp->cpu == 50 && rp->rss_kb == 1000 && rp->state == 'R');
  assert_int_equal(s->nhosts, 1);
  const ft_mhost *hh = ft_model_snap_host(s, 1);
  assert_non_null(hh);
  assert_null(ft_model_snap_host(s, 0));
  assert_string_equal(hh->name, "node2");
  assert_string_equal(hh->launcher, "slurm");
  assert_string_equal(hh->job, "77");
  assert_false(hh->lost);
  assert_int_equal(hh->procs, 2);
  assert_int_equal(hh->workers, 1);
  assert_true(hh->cpu == 50);
  assert_int_equal(hh->rss_kb, 1000);
  assert_int_equal(hh->last_heard, T0 + 7);

  /* the remote 2000 dies; then the local launcher 2001 exits: the remote
   * 3000 (whose parent on its host is 2001) stays where it is */
  ft_event ex = {.kind = FT_EV_EXIT, .t_ns = T0 + 9, .pid = 2000, .name = "p"};
  ex.u.exit.signal = SIGKILL;
  remote(m, ex, 1);
  die(m, T0 + 10, 2001, "srun", 0, 0, false);
  assert_true(ft_model_alive(m, 2000));
  assert_false(ft_model_alive_on(m, 1, 2000));
  assert_true(ft_model_alive_on(m, 1, 3000));
  h.t_ns = T0 + 11;
  h.u.host.lost = true;
  h.u.host.cause = "no heartbeat for 4 s";
  remote(m, h, 1);
  ft_event early = {.kind = FT_EV_SPAWN, .t_ns = T0 + 12, .pid = 5, .name = "q"};
  early.u.spawn.role = "worker";
  remote(m, early, 2); /* before its host event: a host named by its number */
  ft_model_tick(m, T0 + 13);
  s = ft_model_snapshot(m);
  lp = &s->procs[ft_model_snap_find(s, 2000)];
  assert_false(lp->exited);
  assert_true(lp->busy);
  rp = &s->procs[ft_model_snap_find_on(s, 1, 3000)];
  assert_int_equal(rp->ppid, 2001);
  assert_false(rp->orphan);
  hh = ft_model_snap_host(s, 1);
  assert_true(hh->lost);
  assert_string_equal(hh->cause, "no heartbeat for 4 s");
  assert_int_equal(hh->t_state, T0 + 11);
  assert_int_equal(hh->procs, 1);
  assert_int_equal(hh->workers, 0);
  assert_int_equal(hh->exited, 1);
  assert_int_equal(hh->failed, 1);
  assert_string_equal(ft_model_snap_host(s, 2)->name, "host 2");
  ft_model_snap *c;
  assert_int_equal(ft_model_snap_copy(s, &c), 0);
  assert_int_equal(c->nhosts, 2);
  assert_string_equal(ft_model_snap_host(c, 1)->name, "node2");
  ft_model_snap_free(c);
  ft_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_tree_and_exits),
      FT_TEST(test_exec_renames),
      FT_TEST(test_root_learned_from_events),
      FT_TEST(test_orphan_row),
      FT_TEST(test_reparented_to_root),
      FT_TEST(test_zombies_per_parent),
      FT_TEST(test_pool_progress),
      FT_TEST(test_worker_replaced),
      FT_TEST(test_expiry),
      FT_TEST(test_output_bounded),
      FT_TEST(test_pid_reuse),
      FT_TEST(test_queue_rates_and_spark),
      FT_TEST(test_snapshot_copy),
      FT_TEST(test_exit_log_bounded),
      FT_TEST(test_stat_cpu),
      FT_TEST(test_live_scan),
      FT_TEST(test_remote_pid_collision),
  };
  return FT_TEST_RUN(tests, 60);
}
