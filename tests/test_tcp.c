/* test_tcp.c - the TCP worker transport: the frame checks (truncated,
 * oversized, malformed frames refused), the token comparison, the
 * registry of task functions by name, and a pool whose "worker" is this
 * test speaking the protocol by hand: a wrong token, a reused token and a
 * chunk's wrong seq are refused, the last by killing the worker's launcher;
 * a launcher that cannot start its worker fails the work with its own
 * words; and a host where launchers keep failing to start workers is
 * given up while another host works. */
#include "ft_test_tcp.h"

#include "ft_internal.h"
#include "ft_transport_tcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char frame[4096];

/* A RESULT frame of two items (values of 3 and 8 bytes). */
static size_t make_result(void) {
  ft__f_result r = {{0, FT__F_RESULT}, 7, 0, 2};
  size_t off = sizeof r;
  for (int i = 0; i < 2; i++) {
    ft__rec_item it = {.len = i ? 8u : 3u};
    memcpy(frame + off, &it, sizeof it);
    off += sizeof it;
    memset(frame + off, 'v', 8);
    off += 8;
  }
  r.h.len = (uint32_t)off;
  memcpy(frame, &r, sizeof r);
  return off;
}

/* A CHUNK frame for "fn" of two task items ("ab", 9 bytes). */
static size_t make_chunk(void) {
  ft__f_chunk c = {{0, FT__F_CHUNK}, 3, FT__KIND_TASK, 2, 2, 0};
  size_t off = sizeof c;
  memset(frame + off, 0, 8);
  memcpy(frame + off, "fn", 2);
  off += 8;
  off += ft__wire_write(frame + off, "ab", 2);
  off += ft__wire_write(frame + off, "123456789", 9);
  c.h.len = (uint32_t)off;
  memcpy(frame, &c, sizeof c);
  return off;
}

static void test_frame_truncated(void **state) {
  (void)state;
  size_t (*makers[])(void) = {make_result, make_chunk};
  for (size_t m = 0; m < 2; m++) {
    size_t len = makers[m]();
    bool to_parent = m == 0;
    assert_int_equal(ft__frame_check(frame, len, to_parent), (long)len);
    for (size_t k = 0; k < len; k++) /* every prefix: wait for more, never read past */
      assert_int_equal(ft__frame_check(frame, k, to_parent), 0);
    /* the wrong direction */
    assert_int_equal(ft__frame_check(frame, len, !to_parent), -EPROTO);
  }
  ft__f_hello h = {{sizeof h, FT__F_HELLO}, FT__TCP_VERSION, 1, {0}};
  assert_int_equal(ft__frame_check((char *)&h, sizeof h, true), (long)sizeof h);
  assert_int_equal(ft__frame_check((char *)&h, sizeof h - 1, true), 0);
}

static void test_frame_oversized(void **state) {
  (void)state;
  ft__fhdr h = {FT__FRAME_MAX + 8, FT__F_RESULT};
  /* refused from its header alone: nobody waits for 16 MiB that never come */
  assert_int_equal(ft__frame_check((char *)&h, sizeof h, true), -EPROTO);
  h.len = 12; /* not a multiple of 8 */
  assert_int_equal(ft__frame_check((char *)&h, sizeof h, true), -EPROTO);
  h.len = 4; /* shorter than a header */
  assert_int_equal(ft__frame_check((char *)&h, sizeof h, true), -EPROTO);
  h = (ft__fhdr){8, 99}; /* unknown type */
  assert_int_equal(ft__frame_check((char *)&h, sizeof h, true), -EPROTO);
  ft__fhdr big[2] = {{16, FT__F_BEAT}, {0, 0}}; /* a heartbeat with a body */
  assert_int_equal(ft__frame_check((char *)big, sizeof big, true), -EPROTO);
}

static void test_frame_malformed(void **state) {
  (void)state;
  /* a RESULT whose count claims more items than its body holds */
  size_t len = make_result();
  ft__f_result r;
  memcpy(&r, frame, sizeof r);
  r.count = 3;
  memcpy(frame, &r, sizeof r);
  assert_int_equal(ft__frame_check(frame, len, true), -EPROTO);
  /* ... or fewer (bytes left over) */
  r.count = 1;
  memcpy(frame, &r, sizeof r);
  assert_int_equal(ft__frame_check(frame, len, true), -EPROTO);
  /* an item value longer than the frame */
  make_result();
  ft__rec_item it;
  memcpy(&it, frame + sizeof r, sizeof it);
  it.len = 1u << 30;
  memcpy(frame + sizeof r, &it, sizeof it);
  assert_int_equal(ft__frame_check(frame, len, true), -EPROTO);
  /* a CHUNK whose item length runs past the end, and one with no name */
  len = make_chunk();
  uint32_t huge = 0xfffffff0u;
  memcpy(frame + sizeof(ft__f_chunk) + 8, &huge, sizeof huge);
  assert_int_equal(ft__frame_check(frame, len, false), -EPROTO);
  len = make_chunk();
  ft__f_chunk c;
  memcpy(&c, frame, sizeof c);
  c.namelen = 0;
  memcpy(frame, &c, sizeof c);
  assert_int_equal(ft__frame_check(frame, len, false), -EPROTO);
  /* a starmap item whose argc is more than its bytes can hold */
  len = make_chunk();
  memcpy(&c, frame, sizeof c);
  c.kind = FT__KIND_STAR;
  memcpy(frame, &c, sizeof c);
  assert_int_equal(ft__frame_check(frame, len, false), -EPROTO);
}

static void test_token_eq(void **state) {
  (void)state;
  uint8_t a[FT__TOKEN_LEN], b[FT__TOKEN_LEN];
  for (int i = 0; i < FT__TOKEN_LEN; i++)
    a[i] = b[i] = (uint8_t)(i * 7);
  assert_true(ft__token_eq(a, b));
  for (int i = 0; i < FT__TOKEN_LEN; i++) { /* any one byte off */
    b[i] ^= 1;
    assert_false(ft__token_eq(a, b));
    b[i] ^= 1;
  }
}

static int task_a(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx;
  return ft_buf_append(out, arg.ptr, arg.len);
}

static int task_b(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx;
  (void)arg;
  (void)out;
  return 1;
}

static void test_registry(void **state) {
  (void)state;
  assert_int_equal(ft_task_register("test.a", task_a), 0);
  assert_int_equal(ft_task_register("test.a", task_a), 0); /* again: no-op */
  assert_int_equal(ft_task_register("test.a", task_b), FT_EINVAL);
  assert_int_equal(ft_task_register("", task_b), FT_EINVAL);
  assert_string_equal(ft__task_name((uintptr_t)task_a, FT__KIND_TASK), "test.a");
  assert_null(ft__task_name((uintptr_t)task_b, FT__KIND_TASK));
  assert_null(ft__task_name((uintptr_t)task_a, FT__KIND_STAR));
  assert_true(ft__task_lookup("test.a", 6, FT__KIND_TASK) == (uintptr_t)task_a);
  assert_true(ft__task_lookup("test.ab", 6, FT__KIND_TASK) == (uintptr_t)task_a);
  assert_true(ft__task_lookup("test.", 5, FT__KIND_TASK) == 0);
}

/* ------------------------------------------------- a worker by hand */

static void test_pool_refuses(void **state) {
  ft_test *T = *state;
  ft_test_tcp hw;
  ft_test_tcp_start(T->loop, &hw, (ft_slice){"the setup", 9});
  ft_pool *p = hw.pool;
  const char *token = hw.token, *addr = hw.addr;
  assert_int_equal(strlen(token), 64);
  pid_t first = ft_pool_worker_pid(p, 0);

  /* a connection that never says hello (half of one here) */
  int silent = ft_test_tcp_dial(addr);
  uint64_t t_silent = ft_now_ns();
  assert_int_equal(send(silent, "\x30\0\0\0\1\0\0\0", 8, MSG_NOSIGNAL), 8);

  /* an unregistered function is refused at submission */
  ft_result *r = NULL;
  assert_int_equal(ft_pool_apply_async(p, task_b, (ft_slice){"x", 1}, NULL, NULL, NULL, &r),
                   FT_ENOTREG);

  /* a wrong token: the connection is closed, nothing else happens */
  char bad[65];
  memcpy(bad, token, sizeof bad);
  bad[0] = bad[0] == '0' ? '1' : '0';
  int fd = ft_test_tcp_dial(addr);
  ft_test_tcp_hello(fd, bad, getpid());
  ft_buf in = {0};
  FT_TEST_UNTIL(T->loop, ft_test_tcp_pull(fd, &in) == 0);
  assert_int_equal(in.len, 0);
  close(fd);

  /* the right token: the setup comes */
  int good = ft_test_tcp_dial(addr);
  ft_test_tcp_hello(good, token, getpid());
  FT_TEST_UNTIL(T->loop, (ft_test_tcp_pull(good, &in), in.len >= sizeof(ft__f_setup) + 16));
  assert_int_equal(ft__frame_check(in.data, in.len, false), (long)(sizeof(ft__f_setup) + 16));
  ft__f_setup su;
  memcpy(&su, in.data, sizeof su);
  assert_int_equal(su.h.type, FT__F_SETUP);
  assert_int_equal(su.len, 9);
  assert_memory_equal(in.data + sizeof su, "the setup", 9);
  ft_buf_reset(&in);

  /* the same token again: used once, refused */
  fd = ft_test_tcp_dial(addr);
  ft_test_tcp_hello(fd, token, getpid());
  FT_TEST_UNTIL(T->loop, ft_test_tcp_pull(fd, &in) == 0);
  assert_int_equal(in.len, 0);
  close(fd);

  /* a task by name reaches the worker as a chunk */
  assert_int_equal(ft_task_register("test.a", task_a), 0);
  assert_int_equal(ft_pool_apply_async(p, task_a, (ft_slice){"x", 1}, NULL, NULL, NULL, &r), 0);
  FT_TEST_UNTIL(T->loop,
                (ft_test_tcp_pull(good, &in), ft__frame_check(in.data, in.len, false) > 0));
  ft__f_chunk c;
  memcpy(&c, in.data, sizeof c);
  assert_int_equal(c.h.type, FT__F_CHUNK);
  assert_int_equal(c.nitems, 1);
  assert_memory_equal(in.data + sizeof c, "test.a", 6);

  /* a START for a seq it was never sent: refused, the launcher killed,
   * and a new one started in its place */
  ft__f_start st = {{sizeof st, FT__F_START}, c.seq + 5, 0};
  assert_int_equal(send(good, &st, sizeof st, MSG_NOSIGNAL), (ssize_t)sizeof st);
  FT_TEST_UNTIL(T->loop, ft_pool_worker_pid(p, 0) != first && ft_pool_worker_pid(p, 0) > 0);
  const ft_rec_event *ex = ft_test_find(T, FT_EV_EXIT, first, 0);
  assert_non_null(ex);
  assert_int_equal(ex->ev.u.exit.signal, SIGKILL);
  ft_buf_reset(&in);
  FT_TEST_UNTIL(T->loop, ft_test_tcp_pull(good, &in) == 0); /* and its connection closed */
  close(good);
  /* the task was never started: it is not failed, it waits for a worker */
  assert_false(ft_result_ready(r));

  /* the silent connection was closed, after the 2 s a hello may take */
  FT_TEST_UNTIL(T->loop, ft_test_tcp_pull(silent, &in) == 0);
  assert_true(ft_now_ns() - t_silent > 1900ull * 1000 * 1000);
  close(silent);

  ft_result_free(r);
  ft_pool_terminate(p);
  assert_int_equal(ft_pool_join(p, 10), 0);
  ft_pool_free(p);
  ft_buf_free(&in);
  ft_test_tcp_end(&hw);
}

/* terminate with a hand worker holding two chunks (the first begun, its
 * START not yet read by the pool) and a third not sent: the begun task
 * fails under the worker at its death, the other two as never run, and
 * no chunk is sent after the terminate. */
static void test_terminate_fails_begun_chunk_under_its_worker(void **state) {
  ft_test *T = *state;
  ft_test_tcp hw;
  ft_test_tcp_start(T->loop, &hw, (ft_slice){0});
  ft_pool *p = hw.pool;
  const char *token = hw.token, *addr = hw.addr;
  pid_t launcher = ft_pool_worker_pid(p, 0);
  int good = ft_test_tcp_dial(addr);
  ft_test_tcp_hello(good, token, getpid());
  ft_buf in = {0};
  FT_TEST_UNTIL(T->loop,
                (ft_test_tcp_pull(good, &in), ft__frame_check(in.data, in.len, false) > 0));
  ft_buf_reset(&in); /* the setup */
  assert_int_equal(ft_task_register("test.a", task_a), 0);
  ft_result *rs[3];
  for (int i = 0; i < 3; i++)
    assert_int_equal(ft_pool_apply_async(p, task_a, (ft_slice){"x", 1}, NULL, NULL, NULL, &rs[i]),
                     0);
  /* two chunks come (two in flight per worker), the third waits */
  long n1 = 0;
  FT_TEST_UNTIL(T->loop, (ft_test_tcp_pull(good, &in),
                          (n1 = ft__frame_check(in.data, in.len, false)) > 0 &&
                              ft__frame_check(in.data + n1, in.len - (size_t)n1, false) > 0));
  ft__f_chunk c;
  memcpy(&c, in.data, sizeof c);
  assert_int_equal(c.h.type, FT__F_CHUNK);
  ft_buf_reset(&in);
  /* the first begins; the pool has not read that when it terminates */
  ft__f_start st = {{sizeof st, FT__F_START}, c.seq, ft_now_ns()};
  assert_int_equal(send(good, &st, sizeof st, MSG_NOSIGNAL), (ssize_t)sizeof st);
  assert_int_equal(ft_pool_terminate(p), 0);
  assert_int_equal(ft_pool_join(p, 10), 0);
  ft_item it;
  assert_int_equal(ft_result_get(rs[0], 0, &it), FT_ECANCELED);
  assert_int_equal(it.worker, launcher); /* it began: it ran, and failed */
  for (int i = 1; i < 3; i++) {
    assert_int_equal(ft_result_get(rs[i], 0, &it), FT_ECANCELED);
    assert_int_equal(it.worker, 0); /* never run */
  }
  /* after the terminate, a BYE and the close; no chunk */
  FT_TEST_UNTIL(T->loop, ft_test_tcp_pull(good, &in) == 0);
  long n = ft__frame_check(in.data, in.len, false);
  assert_int_equal(n, (long)sizeof(ft__fhdr));
  assert_int_equal((size_t)n, in.len);
  ft__fhdr h;
  memcpy(&h, in.data, sizeof h);
  assert_int_equal(h.type, FT__F_BYE);
  close(good);
  for (int i = 0; i < 3; i++)
    ft_result_free(rs[i]);
  ft_pool_free(p);
  ft_buf_free(&in);
  ft_test_tcp_end(&hw);
}

/* A launcher that cannot start its worker: it says why on stderr and
 * exits 2, as srun does when forktop is missing on the node, after 150 ms
 * (more than the pool's 100 ms quick-death window: srun takes that long).
 * After the backoff the task fails with FT_EWORKER, the launcher's code
 * and its words as the item's value; nothing hangs. */
static void test_launcher_cannot_start(void **state) {
  ft_test *T = *state;
  char *launch[] = {
      "sh", "-c",
      "sleep 0.15; echo \"launch: error: execve(): $0: No such file or directory\" >&2; "
      "exit 2",
      NULL};
  char *argv[] = {"/nonexistent/forktop", "worker", NULL};
  ft_pool_tcp tcp = {.argv = argv, .launch = launch};
  ft_pool_opts o = {.workers = 1};
  ft_pool *p = NULL;
  assert_int_equal(ft_pool_new_tcp(T->loop, &o, &tcp, &p), 0);
  assert_int_equal(ft_task_register("test.a", task_a), 0);
  ft_result *r = NULL;
  assert_int_equal(ft_pool_apply_async(p, task_a, (ft_slice){"x", 1}, NULL, NULL, NULL, &r), 0);
  FT_TEST_UNTIL(T->loop, ft_result_ready(r));
  ft_item it;
  assert_int_equal(ft_result_get(r, 0, &it), FT_EWORKER);
  assert_int_equal(it.code, 2);
  assert_int_equal(it.worker, 0); /* never run */
  const char *want = "launch: error: execve(): /nonexistent/forktop: No such file or directory";
  assert_int_equal(it.value.len, strlen(want));
  assert_memory_equal(it.value.ptr, want, strlen(want));
  ft_pool_stats st;
  ft_pool_stats_get(p, &st);
  assert_true(st.workers_started >= 5); /* the backoff's quick deaths, then the failure */
  ft_result_free(r);
  ft_pool_free(p);
}

/* ------------------------------------------- a host where none starts */

/* The host events seen, their strings copied. */
typedef struct host_evs {
  int n;
  char name[4][32];
  bool lost[4];
  char cause[4][640];
} host_evs;

static void on_host(const ft_event *ev, void *ud) {
  host_evs *h = ud;
  if (ev->kind != FT_EV_HOST || h->n == 4)
    return;
  snprintf(h->name[h->n], sizeof h->name[0], "%s", ev->name);
  h->lost[h->n] = ev->u.host.lost;
  snprintf(h->cause[h->n], sizeof h->cause[0], "%s", ev->u.host.cause ? ev->u.host.cause : "");
  h->n++;
}

/* Lines in file path (0 when it does not exist). */
static int count_lines(const char *dir, const char *name) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "r");
  int n = 0;
  for (int ch; f && (ch = fgetc(f)) != EOF;)
    n += ch == '\n';
  if (f)
    fclose(f);
  return n;
}

static void touch(const char *dir, const char *name) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fclose(f);
}

/* A launcher started on host "good" writes good.N (N: how many it is
 * there: the token and the address it was given) and waits as its worker
 * would; one on "bad" notes itself in bad.count, waits for the test's
 * "go", then says why it cannot start the worker on stderr and exits 2,
 * as srun does on a node without forktop. */
typedef struct two_hosts {
  char dir[64], script[1024];
  char *launch[5], *hosts[3], *argv[2];
  ft_pool *pool;
} two_hosts;

static void two_hosts_start(ft_loop *loop, two_hosts *x, const char *bad) {
  memset(x, 0, sizeof *x);
  snprintf(x->dir, sizeof x->dir, "/tmp/ft_tcp_XXXXXX");
  assert_non_null(mkdtemp(x->dir));
  const char *d = x->dir;
  snprintf(
      x->script, sizeof x->script,
      "case $2 in %s) echo x >> %s/bad.count; "
      "while [ ! -e %s/go ]; do sleep 0.01; done; "
      "echo \"launch: error: execve(): /nonexistent/forktop: No such file or directory\" >&2; "
      "exit 2;; "
      "*) n=$(($(ls %s | grep -c '^good') + 1)); printf '%%s %%s\\n' \"$FORKTOP_TOKEN\" \"$5\" > "
      "%s/tmp.$$ && mv %s/tmp.$$ %s/good.$n && exec sleep 30;; esac",
      bad, d, d, d, d, d, d);
  char *launch[] = {"sh", "-c", x->script, "sh", NULL};
  memcpy(x->launch, launch, sizeof launch);
  x->hosts[0] = "good";
  x->hosts[1] = "bad";
  x->argv[0] = "worker";
  ft_pool_tcp tcp = {.argv = x->argv, .launch = x->launch, .hosts = x->hosts};
  ft_pool_opts o = {.workers = 2}; /* worker 0 on good, worker 1 on bad */
  assert_int_equal(ft_pool_new_tcp(loop, &o, &tcp, &x->pool), 0);
}

/* Say hello as good's nth launcher's worker; the connection. */
static int two_hosts_hello(ft_loop *loop, two_hosts *x, int nth) {
  char name[16], path[128], token[65], addr[64];
  snprintf(name, sizeof name, "good.%d", nth);
  snprintf(path, sizeof path, "%s/%s", x->dir, name);
  FT_TEST_UNTIL(loop, access(path, F_OK) == 0);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  assert_int_equal(fscanf(f, "%64s %63s", token, addr), 2);
  fclose(f);
  int fd = ft_test_tcp_dial(addr);
  ft_test_tcp_hello(fd, token, getpid());
  ft_buf in = {0}; /* its setup: it was taken */
  FT_TEST_UNTIL(loop, (ft_test_tcp_pull(fd, &in), ft__frame_check(in.data, in.len, false) > 0));
  ft_buf_free(&in);
  return fd;
}

static void two_hosts_end(ft_loop *loop, two_hosts *x, host_evs *h, int *fds, int nfds) {
  ft_pool_terminate(x->pool);
  assert_int_equal(ft_pool_join(x->pool, 10), 0);
  ft_pool_free(x->pool);
  ft_loop_remove_hook(loop, on_host, h);
  for (int i = 0; i < nfds; i++)
    close(fds[i]);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", x->dir);
  assert_int_equal(system(cmd), 0);
}

/* Turn the loop for ms milliseconds. */
static void turn(ft_loop *loop, int ms) {
  uint64_t end = ft_now_ns() + (uint64_t)ms * 1000 * 1000;
  while (ft_now_ns() < end) {
    ft_loop_run(loop, FT_RUN_NOWAIT);
    usleep(1000);
  }
}

static const char *bad_cause = "could not start a worker in 5 tries: launch: error: execve(): "
                               "/nonexistent/forktop: No such file or directory";

/* Worker 1's launcher never starts it on host "bad" while worker 0 works
 * on "good": after 5 launches there in a row (the quick-death limit) the
 * host is given up, announced lost (never up) with the launcher's words,
 * and worker 1 is started on "good" instead; "bad" gets no launch more. */
static void test_host_given_up(void **state) {
  ft_test *T = *state;
  host_evs h = {0};
  assert_int_equal(ft_loop_add_hook(T->loop, on_host, &h), 0);
  two_hosts x;
  two_hosts_start(T->loop, &x, "bad");
  int fds[2];
  fds[0] = two_hosts_hello(T->loop, &x, 1);
  touch(x.dir, "go");
  FT_TEST_UNTIL(T->loop, h.n == 2);
  assert_string_equal(h.name[1], "bad");
  assert_true(h.lost[1]);
  assert_string_equal(h.cause[1], bad_cause);
  assert_int_equal(count_lines(x.dir, "bad.count"), 5);
  /* its worker runs on good now, the only host answering */
  fds[1] = two_hosts_hello(T->loop, &x, 2);
  turn(T->loop, 300);
  assert_int_equal(count_lines(x.dir, "bad.count"), 5);
  assert_int_equal(h.n, 2); /* good's up, bad's lost: nothing more */
  assert_string_equal(h.name[0], "good");
  assert_false(h.lost[0]);
  two_hosts_end(T->loop, &x, &h, fds, 2);
}

/* The same while "good" has no worker that said hello yet: "bad" is not
 * given up (nothing says the fault is its own), however many times it
 * fails, until good's worker says hello; then at once (the 250 ms tick). */
static void test_host_given_up_once_another_works(void **state) {
  ft_test *T = *state;
  host_evs h = {0};
  assert_int_equal(ft_loop_add_hook(T->loop, on_host, &h), 0);
  two_hosts x;
  two_hosts_start(T->loop, &x, "bad");
  touch(x.dir, "go");
  FT_TEST_UNTIL(T->loop, count_lines(x.dir, "bad.count") >= 7);
  assert_int_equal(h.n, 0);
  int fds[2];
  fds[0] = two_hosts_hello(T->loop, &x, 1);
  uint64_t t0 = ft_now_ns();
  FT_TEST_UNTIL(T->loop, h.n == 2);
  assert_true(ft_now_ns() - t0 < 1500ull * 1000 * 1000); /* a tick, or the next failure */
  assert_string_equal(h.name[1], "bad");
  assert_true(h.lost[1]);
  assert_true(strstr(h.cause[1], "No such file or directory") != NULL);
  int n = count_lines(x.dir, "bad.count");
  fds[1] = two_hosts_hello(T->loop, &x, 2);
  turn(T->loop, 300);
  assert_int_equal(count_lines(x.dir, "bad.count"), n);
  two_hosts_end(T->loop, &x, &h, fds, 2);
}

/* Every host fails the same way: none is given up (the backoff fails
 * the work with the launcher's words, as with one host). */
static void test_no_host_given_up_when_none_works(void **state) {
  ft_test *T = *state;
  host_evs h = {0};
  assert_int_equal(ft_loop_add_hook(T->loop, on_host, &h), 0);
  two_hosts x;
  two_hosts_start(T->loop, &x, "*");
  touch(x.dir, "go");
  assert_int_equal(ft_task_register("test.a", task_a), 0);
  ft_result *r = NULL;
  assert_int_equal(ft_pool_apply_async(x.pool, task_a, (ft_slice){"x", 1}, NULL, NULL, NULL, &r),
                   0);
  FT_TEST_UNTIL(T->loop, ft_result_ready(r));
  ft_item it;
  assert_int_equal(ft_result_get(r, 0, &it), FT_EWORKER);
  assert_int_equal(h.n, 0);
  ft_result_free(r);
  two_hosts_end(T->loop, &x, &h, NULL, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frame_truncated),
      cmocka_unit_test(test_frame_oversized),
      cmocka_unit_test(test_frame_malformed),
      cmocka_unit_test(test_token_eq),
      cmocka_unit_test(test_registry),
      FT_TEST(test_pool_refuses),
      FT_TEST(test_terminate_fails_begun_chunk_under_its_worker),
      FT_TEST(test_launcher_cannot_start),
      FT_TEST(test_host_given_up),
      FT_TEST(test_host_given_up_once_another_works),
      FT_TEST(test_no_host_given_up_when_none_works),
  };
  return FT_TEST_RUN(tests, 60);
}
