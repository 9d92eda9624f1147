/* test_workload.c - workload files: every shipped one parses; malformed
 * ones give exactly the expected "file:line: message"; overrides; the small
 * languages of durations, sizes and steps. */
#include "ft_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_workload.h"

static ft_plan *parse_ok(const char *text, char *const *sets, size_t nsets) {
  ft_plan *plan = NULL;
  ft_buf err = {0};
  int rc = ft_plan_parse("t.ini", text, sets, nsets, &plan, &err);
  if (rc)
    fprintf(stderr, "unexpected error: %.*s\n", (int)err.len, err.data);
  assert_int_equal(rc, 0);
  assert_non_null(plan);
  ft_buf_free(&err);
  return plan;
}

static void parse_err(const char *text, char *const *sets, size_t nsets, const char *want) {
  ft_plan *plan = NULL;
  ft_buf err = {0};
  assert_int_equal(ft_plan_parse("t.ini", text, sets, nsets, &plan, &err), FT_EINVAL);
  assert_null(plan);
  ft_buf_append(&err, "", 1);
  if (strcmp(err.data, want) != 0)
    fprintf(stderr, "for:\n%s\nwant: %s\ngot:  %s\n", text, want, err.data);
  assert_string_equal(err.data, want);
  ft_buf_free(&err);
}

/* Every shipped workload parses and has a description. */
static void test_shipped_workloads_parse(void **state) {
  (void)state;
  DIR *d = opendir(FT_SOURCE_DIR "/workloads");
  assert_non_null(d);
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < 5 || strcmp(e->d_name + l - 4, ".ini"))
      continue;
    char path[1024];
    snprintf(path, sizeof path, "%s/workloads/%s", FT_SOURCE_DIR, e->d_name);
    ft_plan *plan;
    ft_buf err = {0};
    int rc = ft_plan_load(path, NULL, 0, &plan, &err);
    if (rc)
      fprintf(stderr, "%.*s\n", (int)err.len, err.data);
    assert_int_equal(rc, 0);
    assert_non_null(plan->description);
    assert_true(plan->npools + plan->nprocs > 0);
    ft_plan_free(plan);
    ft_buf_free(&err);
    n++;
  }
  closedir(d);
  assert_true(n >= 12);
}

/* The parts of a workload come out as written. */
static void test_plan_contents(void **state) {
  (void)state;
  ft_plan *p = parse_ok("# a comment\n"
                        "[workload]\nname = demo\ndescription = it shows\nseed = 9\n"
                        "[queue q]\ncapacity = 5\nbytes = 4K\nclose_after = w\n"
                        "[process w]\ncount = 2\nrun = put q A B pace=250ms # a comment\n"
                        "[pool main]\nworkers = 3\nsubmit = imap_unordered\nchunksize = 4\n"
                        "maxtasksperchild = 7\nitems = a, b , c\n"
                        "task = sleep 0..3s; cpu 2M; print hi {}; crash KILL 10%; exec echo 'a b' \"c\\\"d\"\n"
                        "after = w exits\n",
                        NULL, 0);
  assert_string_equal(p->name, "demo");
  assert_string_equal(p->description, "it shows");
  assert_int_equal(p->seed, 9);
  assert_int_equal(p->nqueues, 1);
  assert_int_equal(p->queues[0].capacity, 5);
  assert_int_equal(p->queues[0].bytes, 4096);
  assert_string_equal(p->queues[0].close_after, "w");
  assert_int_equal(p->nprocs, 1);
  assert_int_equal(p->procs[0].count, 2);
  assert_int_equal(p->procs[0].steps[0].kind, FT_STEP_PUT);
  assert_int_equal(p->procs[0].steps[0].queue, 0);
  assert_string_equal(p->procs[0].steps[0].values[0], "A");
  assert_string_equal(p->procs[0].steps[0].values[1], "B");
  assert_true(p->procs[0].steps[0].d_min == 0.25);
  const ft_plan_pool *pool = &p->pools[0];
  assert_int_equal(pool->workers, 3);
  assert_int_equal(pool->submit, FT_SUBMIT_IMAP_UNORDERED);
  assert_int_equal(pool->chunksize, 4);
  assert_int_equal(pool->maxtasksperchild, 7);
  assert_int_equal(pool->nitems, 3);
  assert_string_equal(pool->items[1], "b");
  assert_string_equal(pool->after, "w");
  assert_int_equal(pool->nsteps, 5);
  assert_true(pool->steps[0].d_min == 0 && pool->steps[0].d_max == 3);
  assert_int_equal(pool->steps[1].n, 2000000);
  assert_string_equal(pool->steps[2].text, "hi {}");
  assert_int_equal(pool->steps[3].n, 9);
  assert_true(pool->steps[3].prob > 0.0999 && pool->steps[3].prob < 0.1001);
  assert_string_equal(pool->steps[4].argv[1], "a b");
  assert_string_equal(pool->steps[4].argv[2], "c\"d");
  assert_null(pool->steps[4].argv[3]);
  ft_plan_free(p);
}

typedef struct bad_case {
  const char *text;
  const char *message;
} bad_case;

#define POOL "[pool p]\ntasks = 2\ntask = sleep 1s\n"

/* A table of malformed files, each with its message. */
static void test_malformed_files(void **state) {
  (void)state;
  static const bad_case cases[] = {
      {"[pooll p]\n", "t.ini:1: unknown section [pooll]; expected [workload], [pool NAME], [process NAME] or [queue NAME]"},
      {"[pool]\ntask = sleep 1s\n", "t.ini:1: [pool] needs a name: [pool NAME]"},
      {"[workload x]\n", "t.ini:1: [workload] takes no name"},
      {"[workload]\n[workload]\n", "t.ini:2: a second [workload] section (the first is at line 1)"},
      {POOL "[process p]\nrun = print x\n", "t.ini:4: duplicate name \"p\" (first used at line 1)"},
      {"name = x\n", "t.ini:1: \"name\" outside of any section"},
      {"[pool p]\nwrokers = 2\n", "t.ini:2: unknown key \"wrokers\" in [pool p]"},
      {POOL "tasks = 3\n", "t.ini:4: duplicate key \"tasks\" in [pool p] (first at line 2)"},
      {"[pool p]\ntasks = 2\n", "t.ini:1: [pool p] has no \"task\""},
      {"[pool p]\ntask = sleep 1s\n", "t.ini:1: [pool p] has no \"items\" (or \"tasks\")"},
      {"[process x]\ncount = 2\n", "t.ini:1: [process x] has no \"run\""},
      {"[pool p]\nworkers =\n", "t.ini:2: empty value for \"workers\""},
      {POOL "workers = many\n", "t.ini:4: workers: \"many\" is not a whole number"},
      {POOL "workers = 5000\n", "t.ini:4: workers: 5000 is out of range (0 to 4096)"},
      {POOL "submit = mapp\n", "t.ini:4: submit: \"mapp\" is not one of apply_async, map, map_async, starmap, imap, imap_unordered"},
      {"[pool p]\ntasks = 2\ntask = slep 1s\n", "t.ini:3: task: unknown step \"slep\" (expected sleep, cpu, alloc, print, exec, shell, fail, crash, leak, put, get or relay)"},
      {"[pool p]\ntasks = 2\ntask = sleep 3x\n", "t.ini:3: task: bad duration \"3x\""},
      {"[pool p]\ntasks = 2\ntask = sleep 3s..1s\n", "t.ini:3: task: bad duration range \"3s..1s\""},
      {"[pool p]\ntasks = 2\ntask = crash SIGFOO\n", "t.ini:3: task: crash: \"SIGFOO\" is not a signal"},
      {"[pool p]\ntasks = 2\ntask = fail 0\n", "t.ini:3: task: fail: \"0\" is not an exit code from 1 to 255"},
      {"[pool p]\ntasks = 2\ntask = sleep 1s 150%\n", "t.ini:3: task: bad percentage \"150%\""},
      {"[pool p]\ntasks = 2\ntask = sleep 1s;; sleep 2s\n", "t.ini:3: task: empty step"},
      {"[pool p]\ntasks = 2\ntask = exec echo 'oops\n", "t.ini:3: task: exec: unterminated ' quote"},
      {"[pool p]\ntasks = 2\ntask = put q A\n", "t.ini:3: task: queue \"q\" is not declared"},
      {"[queue q]\n[pool p]\ntasks = 2\ntask = put q\n", "t.ini:4: task: put needs values or count=N"},
      {"[queue q]\n[process p]\nrun = get q count=x\n", "t.ini:3: run: count: \"x\" is not a count"},
      {POOL "after = nobody\n", "t.ini:4: after: \"nobody\" names no process or pool"},
      {"[queue q]\n" POOL "after = q\n", "t.ini:5: after: \"q\" names no process or pool"},
      {"[process a]\nrun = print x\nafter = a\n", "t.ini:3: after: a process cannot wait for itself"},
      {"[process a]\nrun = print a\nafter = b\n[process b]\nrun = print b\nafter = a\n",
       "t.ini:3: after: a cycle that would wait forever: a -> b -> a"},
      {"[queue q]\nbytes = 0\n" POOL, "t.ini:2: bytes: \"0\" is not a size from 1 to 16G"},
      {POOL "items = 4\n", "t.ini:4: items and tasks both given: keep one"},
      {"[pool p]\nitems = a,,b\ntask = sleep 1s\n", "t.ini:2: items: empty item in \"a,,b\""},
      {"[pool p]\nitems = @nonexistent-file\ntask = sleep 1s\n", "t.ini:2: items: ./nonexistent-file: No such file or directory"},
      {POOL "chaos = kill-worker=fast\n", "t.ini:4: chaos: expected kill-worker=RATE (kills a second), got \"kill-worker=fast\""},
      {"[workload]\nname = x\n", "t.ini: no [pool NAME] or [process NAME]: nothing to run"},
      {"[pool p q]\n", "t.ini:1: bad name \"p q\": use letters, digits, '_' and '-'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    parse_err(cases[i].text, NULL, 0, cases[i].message);
}

/* A file that cannot be read. */
static void test_missing_file(void **state) {
  (void)state;
  ft_plan *plan;
  ft_buf err = {0};
  assert_true(ft_plan_load("/nonexistent/w.ini", NULL, 0, &plan, &err) < 0);
  ft_buf_append(&err, "", 1);
  assert_string_equal(err.data, "/nonexistent/w.ini: No such file or directory");
  ft_buf_free(&err);
}

/* -s: unqualified keys go to every section that has them; NAME.key to one. */
static void test_overrides(void **state) {
  (void)state;
  const char *text = "[pool a]\nworkers = 2\ntasks = 3\ntask = sleep 1s\n"
                     "[pool b]\ntasks = 3\ntask = sleep 1s\n"
                     "[process c]\nrun = print x\n";
  char *sets1[] = {"workers=8", "b.tasks=10", "workload.seed=4", "c.run=print y; print z"};
  ft_plan *p = parse_ok(text, sets1, 4);
  assert_int_equal(p->pools[0].workers, 8);
  assert_int_equal(p->pools[1].workers, 8);
  assert_int_equal(p->pools[0].nitems, 3);
  assert_int_equal(p->pools[1].nitems, 10);
  assert_int_equal(p->seed, 4);
  assert_int_equal(p->procs[0].nsteps, 2);
  ft_plan_free(p);

  char *bad1[] = {"nosuch=1"};
  parse_err(text, bad1, 1, "-s nosuch=1: no section has a key \"nosuch\"");
  char *bad2[] = {"zz.tasks=1"};
  parse_err(text, bad2, 1, "-s zz.tasks=1: no section named \"zz\"");
  char *bad3[] = {"c.workers=1"};
  parse_err(text, bad3, 1, "-s c.workers=1: [process c] has no key \"workers\"");
  char *bad4[] = {"a.tasks=abc"};
  parse_err(text, bad4, 1, "-s a.tasks=abc: tasks: \"abc\" is not a whole number");
  char *bad5[] = {"=3"};
  parse_err(text, bad5, 1, "-s =3: expected KEY=VALUE or NAME.KEY=VALUE");
}

/* Durations, sizes, signals. */
static void test_units(void **state) {
  (void)state;
  double d;
  assert_int_equal(ft_parse_duration("1.5", &d), 0);
  assert_true(d == 1.5);
  assert_int_equal(ft_parse_duration("250ms", &d), 0);
  assert_true(d > 0.2499 && d < 0.2501);
  assert_int_equal(ft_parse_duration("2m", &d), 0);
  assert_true(d == 120);
  assert_int_equal(ft_parse_duration("1h", &d), 0);
  assert_true(d == 3600);
  assert_int_equal(ft_parse_duration("5x", &d), FT_EINVAL);
  assert_int_equal(ft_parse_duration("-1s", &d), FT_EINVAL);
  assert_int_equal(ft_parse_duration("", &d), FT_EINVAL);
  uint64_t z;
  assert_int_equal(ft_parse_size("64K", &z), 0);
  assert_int_equal(z, 65536);
  assert_int_equal(ft_parse_size("1MiB", &z), 0);
  assert_int_equal(z, 1u << 20);
  assert_int_equal(ft_parse_size("2G", &z), 0);
  assert_int_equal(z, 2ull << 30);
  assert_int_equal(ft_parse_size("12Q", &z), FT_EINVAL);
  assert_int_equal(ft_parse_size("99999999999999999999", &z), FT_EINVAL);
  int sig;
  assert_int_equal(ft_parse_signal("SIGKILL", &sig), 0);
  assert_int_equal(sig, 9);
  assert_int_equal(ft_parse_signal("term", &sig), 0);
  assert_int_equal(sig, 15);
  assert_int_equal(ft_parse_signal("11", &sig), 0);
  assert_string_equal(ft_signal_name(11), "SIGSEGV");
  assert_int_equal(ft_parse_signal("SIGNOPE", &sig), FT_EINVAL);
}

/* ';' separates steps, "\;" is a literal one, " #" starts a comment. */
static void test_separators_and_comments(void **state) {
  (void)state;
  ft_plan *p = parse_ok("[process x] # the only one\nrun = print a\\;b; print c # said twice\n", NULL, 0);
  assert_int_equal(p->procs[0].nsteps, 2);
  assert_string_equal(p->procs[0].steps[0].text, "a;b");
  assert_string_equal(p->procs[0].steps[1].text, "c");
  ft_plan_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_shipped_workloads_parse), FT_TEST(test_plan_contents),
      FT_TEST(test_malformed_files),         FT_TEST(test_missing_file),
      FT_TEST(test_overrides),               FT_TEST(test_units),
      FT_TEST(test_separators_and_comments),
  };
  return FT_TEST_RUN(tests, 60);
}
