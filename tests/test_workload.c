/* test_workload.c - workload files: every shipped one parses; malformed
 * ones give exactly the expected "file:line: message"; overrides; the small
 * languages of durations, sizes and steps. */
#include "ft_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
  ft_plan *p = parse_ok(
      "# a comment\n"
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
      {"[pooll p]\n", "t.ini:1: unknown section [pooll]; expected [workload], [pool NAME], "
                      "[process NAME] or [queue NAME]"},
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
      {POOL "workers = 5000000\n",
       "t.ini:4: workers: 5000000 is more than a pool takes (4194303, as many as pid_max allows)"},
      {POOL "submit = mapp\n", "t.ini:4: submit: \"mapp\" is not one of apply_async, map, "
                               "map_async, starmap, imap, imap_unordered"},
      {"[pool p]\ntasks = 2\ntask = slep 1s\n",
       "t.ini:3: task: unknown step \"slep\" (expected sleep, cpu, alloc, print, exec, shell, "
       "fail, crash, leak, put, get or relay)"},
      {"[pool p]\ntasks = 2\ntask = sleep 3x\n", "t.ini:3: task: bad duration \"3x\""},
      {"[pool p]\ntasks = 2\ntask = sleep 3s..1s\n",
       "t.ini:3: task: bad duration range \"3s..1s\""},
      {"[pool p]\ntasks = 2\ntask = crash SIGFOO\n",
       "t.ini:3: task: crash: \"SIGFOO\" is not a signal"},
      {"[pool p]\ntasks = 2\ntask = fail 0\n",
       "t.ini:3: task: fail: \"0\" is not an exit code from 1 to 255"},
      {"[pool p]\ntasks = 2\ntask = sleep 1s 150%\n", "t.ini:3: task: bad percentage \"150%\""},
      {"[pool p]\ntasks = 2\ntask = sleep 1s;; sleep 2s\n", "t.ini:3: task: empty step"},
      {"[pool p]\ntasks = 2\ntask = exec echo 'oops\n",
       "t.ini:3: task: exec: unterminated ' quote"},
      {"[pool p]\ntasks = 2\ntask = put q A\n", "t.ini:3: task: queue \"q\" is not declared"},
      {"[queue q]\n[pool p]\ntasks = 2\ntask = put q\n",
       "t.ini:4: task: put needs values or count=N"},
      {"[queue q]\n[process p]\nrun = get q count=x\n",
       "t.ini:3: run: count: \"x\" is not a count"},
      {POOL "after = nobody\n", "t.ini:4: after: \"nobody\" names no process or pool"},
      {"[queue q]\n" POOL "after = q\n", "t.ini:5: after: \"q\" names no process or pool"},
      {"[process a]\nrun = print x\nafter = a\n",
       "t.ini:3: after: a process cannot wait for itself"},
      {"[process a]\nrun = print a\nafter = b\n[process b]\nrun = print b\nafter = a\n",
       "t.ini:3: after: a cycle that would wait forever: a -> b -> a"},
      {"[queue q]\nbytes = 0\n" POOL, "t.ini:2: bytes: \"0\" is not a size from 1 to 16G"},
      {POOL "items = 4\n", "t.ini:4: items and tasks both given: keep one"},
      {"[pool p]\ntasks = 0\ntask = sleep 1s\nitems = a\n",
       "t.ini:4: items and tasks both given: keep one"},
      {"[pool p]\ntasks = 5000000000\ntask = sleep 1s\n",
       "t.ini:2: tasks: 5000000000 is more items than a pool takes (4294967295: an item's number "
       "is 32 bits)"},
      {"[pool p]\nitems = a,,b\ntask = sleep 1s\n", "t.ini:2: items: empty item in \"a,,b\""},
      {"[pool p]\nitems = @nonexistent-file\ntask = sleep 1s\n",
       "t.ini:2: items file ./nonexistent-file: No such file or directory"},
      /* an items file that cannot be read is an error, not 0 tasks (one with
       * no end is streamed, and fails at its first line's bound as it runs) */
      {"[pool p]\nitems = @/\ntask = sleep 1s\n", "t.ini:2: items file /: Is a directory"},
      {POOL "chaos = kill-worker=fast\n",
       "t.ini:4: chaos: expected kill-worker=RATE (kills a second), got \"kill-worker=fast\""},
      {"[workload]\nname = x\n", "t.ini: no [pool NAME] or [process NAME]: nothing to run"},
      {"[pool p q]\n", "t.ini:1: bad name \"p q\": use letters, digits, '_' and '-'"},
      {"[pool p\n", "t.ini:1: bad section header \"[pool p\""},
      {"[process x]\nrun print a\n", "t.ini:2: expected KEY = VALUE, got \"run print a\""},
      {"[process x]\nrun = print a\nstop_when = nobody exits\n",
       "t.ini:3: stop_when: \"nobody\" names no process or pool"},
      {"[process x]\nrun = print a\nstop_when = x\n",
       "t.ini:3: stop_when: a process cannot stop on itself"},
      {"[queue q]\nclose_after = nope\n" POOL,
       "t.ini:2: close_after: \"nope\" names no process or pool"},
      {"[queue q]\ncapacity = lots\n" POOL, "t.ini:2: capacity: \"lots\" is not a whole number"},
      {"[queue q]\nbytes = 1Q\n" POOL, "t.ini:2: bytes: \"1Q\" is not a size from 1 to 16G"},
      {"[workload]\nseed = -1\n" POOL, "t.ini:2: seed: \"-1\" is not a whole number"},
      {"[workload]\nsalt = 1\n", "t.ini:2: unknown key \"salt\" in [workload]"},
      {"[workload]\n\n\n[pool p]\ntasks = many\ntask = sleep 1s\n",
       "t.ini:5: tasks: \"many\" is not a whole number"},
      {"[process x]\ncount = 0\nrun = print a\n", "t.ini:2: count: 0 is out of range (1 to 10000)"},
      {"[process x]\nrun = cpu lots\n", "t.ini:2: run: cpu: \"lots\" is not a count of work units"},
      {"[process x]\nrun = alloc 1Q\n", "t.ini:2: run: alloc: bad size \"1Q\""},
      {"[process x]\nrun = alloc 1M forever\n", "t.ini:2: run: alloc: bad duration \"forever\""},
      {"[process x]\nrun = sleep\n", "t.ini:2: run: sleep needs an argument"},
      {"[process x]\nrun = leak soon\n", "t.ini:2: run: bad duration \"soon\""},
      {"[process x]\nrun = exec\n", "t.ini:2: run: exec needs an argument"},
      {"[process x]\nrun = crash 99 50%\n", "t.ini:2: run: crash: \"99\" is not a signal"},
      {"[process x]\nrun = fail 256\n",
       "t.ini:2: run: fail: \"256\" is not an exit code from 1 to 255"},
      {"[process x]\nrun = print a 5x%\n", "t.ini:2: run: bad percentage \"5x%\""},
      {"[queue q]\n[process x]\nrun = relay q\n", "t.ini:3: run: relay needs two queues"},
      {"[queue q]\n[process x]\nrun = relay q r\n", "t.ini:3: run: queue \"r\" is not declared"},
      {"[queue q]\n[process x]\nrun = get q now\n", "t.ini:3: run: get: unexpected \"now\""},
      {"[queue q]\n[process x]\nrun = put q count=3 speed=2\n",
       "t.ini:3: run: unknown option \"speed\""},
      {"[queue q]\n[process x]\nrun = put q A count=3\n",
       "t.ini:3: run: put takes values or count=N, not both"},
      {"[queue q]\n[process x]\nrun = put q count=2 pace=often\n",
       "t.ini:3: run: pace: bad duration \"often\""},
      {"[process a]\nrun = print a\nafter = c\n[process b]\nrun = print b\nafter = a\n"
       "[process c]\nrun = print c\nafter = b\n",
       "t.ini:3: after: a cycle that would wait forever: a -> c -> b -> a"},
      {"[pool p]\ntasks = 1\ntask = sleep 1s\nafter = p\n",
       "t.ini:4: after: a cycle that would wait forever: p -> p"},
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
  ft_plan *p =
      parse_ok("[process x] # the only one\nrun = print a\\;b; print c # said twice\n", NULL, 0);
  assert_int_equal(p->procs[0].nsteps, 2);
  assert_string_equal(p->procs[0].steps[0].text, "a;b");
  assert_string_equal(p->procs[0].steps[1].text, "c");
  ft_plan_free(p);
}

/* What each step kind keeps, including words split like a shell splits them. */
static void test_steps(void **state) {
  (void)state;
  ft_plan *p = parse_ok(
      "[queue q]\n[queue r]\n"
      "[process x]\n"
      "run = sleep 250ms..1s; sleep 1.5..2; sleep 0..3s 50%; alloc 64M 1s; leak 2s; "
      "exec printf \"%s\\n \\$HOME\" a\\ b 'c\\d' \"\" ; shell date -R | cat; "
      "put q count=5 size=1K pace=10ms; get q count=3 print; relay q r print; get r; fail 3 1%\n",
      NULL, 0);
  const ft_step *st = p->procs[0].steps;
  assert_int_equal(p->procs[0].nsteps, 12);
  assert_int_equal(st[0].kind, FT_STEP_SLEEP);
  assert_true(st[0].d_min == 0.25 && st[0].d_max == 1 && st[0].prob == 1);
  assert_true(st[1].d_min == 1.5 && st[1].d_max == 2);
  assert_true(st[2].d_min == 0 && st[2].d_max == 3 && st[2].prob == 0.5);
  assert_int_equal(st[3].kind, FT_STEP_ALLOC);
  assert_int_equal(st[3].n, 64u << 20);
  assert_true(st[3].d_min == 1);
  assert_int_equal(st[4].kind, FT_STEP_LEAK);
  assert_true(st[4].d_min == 2);
  assert_int_equal(st[5].kind, FT_STEP_EXEC);
  assert_string_equal(st[5].argv[0], "printf");
  assert_string_equal(st[5].argv[1], "%s\\n $HOME"); /* in "...", \ keeps itself before n */
  assert_string_equal(st[5].argv[2], "a b");
  assert_string_equal(st[5].argv[3], "c\\d"); /* in '...', nothing is special */
  assert_string_equal(st[5].argv[4], "");
  assert_null(st[5].argv[5]);
  assert_int_equal(st[6].kind, FT_STEP_EXEC);
  assert_string_equal(st[6].argv[0], "sh");
  assert_string_equal(st[6].argv[1], "-c");
  assert_string_equal(st[6].argv[2], "date -R | cat");
  assert_null(st[6].argv[3]);
  assert_int_equal(st[7].kind, FT_STEP_PUT);
  assert_int_equal(st[7].queue, 0);
  assert_int_equal(st[7].n, 5);
  assert_int_equal(st[7].size, 1024);
  assert_true(st[7].d_min == 0.01);
  assert_null(st[7].values);
  assert_int_equal(st[8].kind, FT_STEP_GET);
  assert_int_equal(st[8].n, 3);
  assert_true(st[8].print);
  assert_int_equal(st[9].kind, FT_STEP_RELAY);
  assert_int_equal(st[9].queue, 0);
  assert_int_equal(st[9].queue2, 1);
  assert_true(st[9].print);
  assert_int_equal(st[10].kind, FT_STEP_GET);
  assert_int_equal(st[10].queue, 1);
  assert_int_equal(st[10].n, 0);
  assert_false(st[10].print);
  assert_int_equal(st[10].queue2, -1);
  assert_int_equal(st[11].kind, FT_STEP_FAIL);
  assert_true(st[11].prob == 0.01);
  ft_plan_free(p);
  p = parse_ok("[process x]\nrun = fail 3 1%; crash KILL; crash 15; print 100%\n", NULL, 0);
  st = p->procs[0].steps;
  assert_int_equal(st[0].kind, FT_STEP_FAIL);
  assert_int_equal(st[0].n, 3);
  assert_true(st[0].prob == 0.01);
  assert_int_equal(st[1].n, 9);
  assert_int_equal(st[2].n, 15);
  assert_int_equal(st[3].kind, FT_STEP_PRINT); /* "print" with only a percentage prints "" */
  assert_string_equal(st[3].text, "");
  assert_int_equal(st[0].queue, -1);
  ft_plan_free(p);
}

/* Items: a count, a list, a file next to the workload file; defaults. */
static void test_items_and_defaults(void **state) {
  (void)state;
  ft_plan *p = parse_ok("[pool a]\ntasks = 3\ntask = sleep 1s\n"
                        "[pool b]\nitems = x y, z\ntask = print {}\n",
                        NULL, 0);
  assert_string_equal(p->name, "t"); /* the file name without .ini */
  assert_null(p->description);
  assert_int_equal(p->seed, 1);
  assert_int_equal(p->pools[0].workers, 0);
  assert_int_equal(p->pools[0].submit, FT_SUBMIT_APPLY_ASYNC);
  assert_int_equal(p->pools[0].nitems, 3);
  assert_string_equal(p->pools[0].items[0], "0");
  assert_string_equal(p->pools[0].items[2], "2");
  assert_int_equal(p->pools[1].nitems, 2);
  assert_string_equal(p->pools[1].items[0], "x y");
  assert_string_equal(p->pools[1].items[1], "z");
  assert_null(p->pools[1].after);
  ft_plan_free(p);
  ft_plan_free(NULL);

  char dir[] = "/tmp/ft-wl-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char ini[64], list[64];
  snprintf(ini, sizeof ini, "%s/w.ini", dir);
  snprintf(list, sizeof list, "%s/list.txt", dir);
  FILE *f = fopen(list, "w");
  assert_non_null(f);
  fputs("alpha\n\nbeta gamma\r\n", f);
  fclose(f);
  f = fopen(ini, "w");
  assert_non_null(f);
  fputs("[pool p]\nitems = @list.txt\ntask = print {}\n", f);
  fclose(f);
  ft_buf err = {0};
  assert_int_equal(ft_plan_load(ini, NULL, 0, &p, &err), 0);
  assert_string_equal(p->name, "w");
  assert_string_equal(p->path, ini);
  /* streamed as the pool runs: the plan holds where from, not the items */
  assert_int_equal(p->pools[0].nitems, 0);
  assert_string_equal(p->pools[0].items_from, list);
  ft_plan_free(p);
  ft_buf_free(&err);
  unlink(ini);
  unlink(list);
  rmdir(dir);
}

/* Lines longer than libinih's own buffer, a BOM, CRLF, blanks after a header. */
static void test_long_lines_and_odd_text(void **state) {
  (void)state;
  char text[3000];
  int n = snprintf(text, sizeof text, "[process x]\nrun = print ");
  memset(text + n, 'a', 2000);
  snprintf(text + n + 2000, sizeof text - (size_t)n - 2000, "; print b\n");
  ft_plan *p = parse_ok(text, NULL, 0);
  assert_int_equal(p->procs[0].nsteps, 2);
  assert_int_equal(strlen(p->procs[0].steps[0].text), 2000);
  assert_string_equal(p->procs[0].steps[1].text, "b");
  ft_plan_free(p);

  char *big = malloc(6000);
  assert_non_null(big);
  n = snprintf(big, 6000, "[process x]\nrun = print ");
  memset(big + n, 'a', 5000);
  strcpy(big + n + 5000, "\n");
  parse_err(big, NULL, 0, "t.ini:2: line too long (at most 4094 characters)");
  free(big);

  p = parse_ok("\xEF\xBB\xBF[process x]   \r\nrun: print a: b\r\n\r\n; a comment\n", NULL, 0);
  assert_string_equal(p->procs[0].steps[0].text, "a: b");
  ft_plan_free(p);
}

/* Overrides apply in order, after the file, and are checked like the file. */
static void test_override_order(void **state) {
  (void)state;
  const char *text = "[workload]\nseed = 2\n[pool main]\nworkers = 1\ntasks = 3\ntask = sleep 1s\n";
  char *sets[] = {"workers=2", "main.workers=3", "seed=9", "workload.seed=10"};
  ft_plan *p = parse_ok(text, sets, 4);
  assert_int_equal(p->pools[0].workers, 3);
  assert_int_equal(p->seed, 10);
  ft_plan_free(p);
  /* items and tasks are one key to -s: the last one wins. */
  char *sets2[] = {"main.task=sleep 1s; print {}", "main.items=a, b", "main.tasks=4"};
  p = parse_ok(text, sets2, 2);
  assert_int_equal(p->pools[0].nsteps, 2);
  assert_int_equal(p->pools[0].nitems, 2);
  assert_string_equal(p->pools[0].items[1], "b");
  ft_plan_free(p);
  p = parse_ok(text, sets2, 3);
  assert_int_equal(p->pools[0].nitems, 4);
  ft_plan_free(p);
  char *sets3[] = {"main.task=slep 1s"};
  parse_err(text, sets3, 1,
            "-s main.task=slep 1s: task: unknown step \"slep\" (expected sleep, cpu, alloc, print, "
            "exec, shell, fail, crash, leak, put, get or relay)");
  char *sets4[] = {"main.after=main"};
  parse_err(text, sets4, 1,
            "-s main.after=main: after: a cycle that would wait forever: main -> main");
  char *sets5[] = {"workload.name=renamed"}; /* [workload] may be left out of the file */
  p = parse_ok("[process x]\nrun = print a\n", sets5, 1);
  assert_string_equal(p->name, "renamed");
  ft_plan_free(p);
}

/* hosts = slurm:N and its keys; the -s overrides --slurm nodes=N,partition=P
 * makes; the errors, file:line. */
static void test_slurm_keys(void **state) {
  (void)state;
  ft_plan *p = parse_ok("[pool a]\nhosts = slurm:3\nslurm_args = -p 'big nodes' --exclusive\n"
                        "bind = auto\nheartbeat = 500ms\ntasks = 2\ntask = cpu 1\n",
                        NULL, 0);
  assert_int_equal(p->pools[0].hosts, FT_HOSTS_SLURM);
  assert_int_equal(p->pools[0].nodes, 3);
  assert_null(p->pools[0].bind);
  assert_string_equal(p->pools[0].slurm_args[0], "-p");
  assert_string_equal(p->pools[0].slurm_args[1], "big nodes");
  assert_string_equal(p->pools[0].slurm_args[2], "--exclusive");
  assert_null(p->pools[0].slurm_args[3]);
  ft_plan_free(p);
  const char *two = "[pool a]\ntasks = 2\ntask = cpu 1\n[pool b]\ntasks = 2\ntask = cpu 1\n";
  char *sets[] = {"hosts=slurm:2", "slurm_args=--partition=x"};
  p = parse_ok(two, sets, 2);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(p->pools[i].hosts, FT_HOSTS_SLURM);
    assert_int_equal(p->pools[i].nodes, 2);
    assert_string_equal(p->pools[i].slurm_args[0], "--partition=x");
  }
  ft_plan_free(p);
  parse_err("[pool a]\ntasks = 2\ntask = cpu 1\nhosts = slurm:0\n", NULL, 0,
            "t.ini:4: hosts: slurm:0 asks for no node (N must be 1 or more)");
  parse_err("[pool a]\ntasks = 2\ntask = cpu 1\nhosts = mpi:2\n", NULL, 0,
            "t.ini:4: hosts: \"mpi\" is not a known launcher (slurm:N is)");
  parse_err("[pool a]\ntasks = 2\ntask = cpu 1\nhosts = slurm:2x\n", NULL, 0,
            "t.ini:4: hosts: \"slurm:2x\": expected slurm:N, N nodes from 1 to 4096");
  parse_err("[pool a]\ntasks = 2\ntask = cpu 1\nslurm_args = -p x\n", NULL, 0,
            "t.ini:4: slurm_args: applies only to hosts = slurm:N");
  parse_err("[pool a]\nhosts = slurm:1\ntasks = 2\ntask = cpu 1\nslurm_args = -p 'x\n", NULL, 0,
            "t.ini:5: slurm_args: unterminated ' quote");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_shipped_workloads_parse),
      FT_TEST(test_plan_contents),
      FT_TEST(test_malformed_files),
      FT_TEST(test_missing_file),
      FT_TEST(test_overrides),
      FT_TEST(test_units),
      FT_TEST(test_separators_and_comments),
      FT_TEST(test_steps),
      FT_TEST(test_items_and_defaults),
      FT_TEST(test_long_lines_and_odd_text),
      FT_TEST(test_override_order),
      FT_TEST(test_slurm_keys),
  };
  return FT_TEST_RUN(tests, 60);
}
