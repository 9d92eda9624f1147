/* ui_bench_cli.c - `forktop bench`'s command line: what is swept (a
 * workload file's pools, a command pool with -j, a command's --param),
 * the runs, hyperfine's --prepare and --cleanup, the exports. */
#include "ui.h"
#include "ui_bench.h"
#include "ui_opt.h"

#include <ctype.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
  B_PARAM = 256,
  B_PREPARE,
  B_CLEANUP,
  B_JSON,
  B_CSV,
  B_MD,
  B_SVG,
  B_HEADLESS,
  B_ASCII,
  B_OTHER, /* another command's: getopt never takes it */
};

/* ui_opt_bad's mask: bench's own rows (cmds 0) apply to B_BENCH; the rest
 * (B_ELSEWHERE) are forktop's other commands' options, there only so that
 * ui_opt_bad says they do not apply to bench. */
#define B_BENCH 1u
#define B_ELSEWHERE 2u

/* bench's options: what is swept (help's first part), the options (its
 * second), --jobs (an alias, not shown), then the other commands'. */
static const ui_optdef ui_bench_defs[] = {
    {"workers", 'j', "LIST", 'j', 0,
     "a command pool (as forktop map) at each size over the\n"
     "lines of stdin, read once (or the ITEMs after :::);\n"
     "{} in CMD is the item.  LIST: 1,2,4 or 1..8 or\n"
     "1..16:2 (default 1, 2, 4, ... up to twice the CPUs)"},
    {"param", 0, "NAME=LIST", B_PARAM, 0,
     "CMD itself at each value, {NAME} in its arguments\n"
     "replaced (make -j{N}): a program that runs its own\n"
     "processes; no shell unless CMD is one"},
    {"runs", 'r', "N", 'r', 0, "measured runs per size (default 3)"},
    {"warmup", 'w', "N", 'w', 0, "unmeasured runs first (default 1)"},
    {"prepare", 0, "CMD", B_PREPARE, 0,
     "sh -c CMD before every run, warm-ups included (not timed)"},
    {"cleanup", 0, "CMD", B_CLEANUP, 0, "sh -c CMD after each size's runs (not timed)"},
    {"export-json", 0, "F", B_JSON, 0,
     "hyperfine's JSON (results[]: command, mean, stddev, median,\n"
     "user, system, min, max, times, exit_codes, parameters)\n"
     "and forktop's figures beside them"},
    {"export-csv", 0, "F", B_CSV, 0, "hyperfine's columns, then forktop's"},
    {"export-markdown", 0, "F", B_MD, 0, "the same as a Markdown table"},
    {"export-svg", 0, "F", B_SVG, 0, "a chart of speedup against size"},
    {"set", 's', "KEY=VALUE", 's', 0, "override a workload key (a WORKLOAD only)"},
    {"null", '0', NULL, '0', 0, "-j: items on stdin end with a NUL byte"},
    {"headless", 0, NULL, B_HEADLESS, 0, "no live view: print a line per run, then the table"},
    {NULL, 'd', "TENTHS", 'd', 0, "live view refresh delay in tenths of a second (default 1)"},
    {"ascii", 0, NULL, B_ASCII, 0, "draw the live view with ASCII"},
    {"help", 'h', NULL, 'h', 0, "show this help"},
    {"jobs", 0, "LIST", 'j', 0, "-j"},
    {"record", 0, "FILE", B_OTHER, B_ELSEWHERE, ""},
    {"json", 0, NULL, B_OTHER, B_ELSEWHERE, ""},
    {"speed", 0, "X", B_OTHER, B_ELSEWHERE, ""},
    {"scan", 0, NULL, B_OTHER, B_ELSEWHERE, ""},
    {"grace", 0, "S", B_OTHER, B_ELSEWHERE, ""},
    {"kill", 0, NULL, B_OTHER, B_ELSEWHERE, ""},
    {"readonly", 0, NULL, B_OTHER, B_ELSEWHERE, ""},
    {"chaos", 0, "kill-worker=RATE", B_OTHER, B_ELSEWHERE, ""},
    {"joblog", 0, "FILE", B_OTHER, B_ELSEWHERE, ""},
    {NULL, 'p', "PID", B_OTHER, B_ELSEWHERE, ""},
};
#define UI_BENCH_NDEFS (sizeof ui_bench_defs / sizeof ui_bench_defs[0])
#define UI_BENCH_NSWEEP 2 /* -j, --param: the help's first part */

/* How many rows are bench's own (getopt takes them); the last, --jobs,
 * the help does not show. */
static size_t ui_bench_nown(void) {
  size_t n = 0;
  while (n < UI_BENCH_NDEFS && !ui_bench_defs[n].cmds)
    n++;
  return n;
}

static void ui_bench_usage(FILE *f) {
  fprintf(f, "usage: forktop bench WORKLOAD [--workers LIST] [OPTIONS]\n"
             "       forktop bench [-j LIST] [OPTIONS] -- CMD [ARG...] {}  < inputs\n"
             "       forktop bench --param NAME=LIST [OPTIONS] -- CMD [ARG...{NAME}...]\n"
             "\n"
             "Runs the same work at several sizes, several times each, and reports for\n"
             "each size the wall time (mean ± sd, median, min, max), the whole process\n"
             "tree's user and system CPU time, its peak RSS (summed over the tree), its\n"
             "number of processes and the most alive at once; then the Amdahl fit with\n"
             "its uncertainty and the smallest size within the noise of the fastest.\n"
             "\n"
             "  WORKLOAD            a workload file's pools at each size (-s workers=N)\n");
  ui_opt_help(f, ui_bench_defs, UI_BENCH_NSWEEP, 0);
  fprintf(f, "\noptions:\n");
  ui_opt_help(f, ui_bench_defs + UI_BENCH_NSWEEP, ui_bench_nown() - 1 - UI_BENCH_NSWEEP, 0);
  fprintf(f, "\n"
             "The commands' output is discarded and their stdin is /dev/null, as with\n"
             "hyperfine.  Sizes above the online CPUs are measured but left out of the\n"
             "fit, with a warning; so is a machine that was busy during the runs.\n"
             "\n"
             "exit status: 0 every run succeeded; 1 a run failed (non-zero exit), a\n"
             "--prepare or --cleanup command failed, or an export could not be written;\n"
             "2 usage or workload-file error; 128+N stopped by signal N (1 for q).\n");
}

/* Every line (or NUL-terminated string) of f as an item. */
static int ui_bench_read_items(FILE *f, int sep, ui_bench_opts *bo) {
  char *line = NULL;
  size_t cap = 0, nalloc = 0;
  ssize_t len;
  while ((len = getdelim(&line, &cap, sep, f)) >= 0) {
    if (len > 0 && line[len - 1] == sep)
      line[--len] = '\0';
    if (strlen(line) != (size_t)len) {
      fprintf(stderr,
              "forktop bench: stdin:%zu: the line holds a NUL byte (-0 reads "
              "NUL-separated items)\n",
              bo->nitems + 1);
      goto fail;
    }
    if (bo->nitems == nalloc) {
      size_t c = nalloc ? nalloc * 2 : 64;
      char **v = realloc(bo->items, c * sizeof *v);
      if (!v)
        goto nomem;
      bo->items = v;
      nalloc = c;
    }
    if (!(bo->items[bo->nitems] = strdup(line)))
      goto nomem;
    bo->nitems++;
  }
  if (ferror(f)) {
    fprintf(stderr, "forktop bench: stdin: cannot read\n");
    goto fail;
  }
  free(line);
  return 0;
nomem:
  fprintf(stderr, "forktop bench: stdin: out of memory\n");
fail:
  free(line);
  return -1;
}

/* The inputs are read: the live view takes its keys from the terminal. */
static void ui_bench_keys_from_tty(const ui_opts *o) {
  if (o->mode != UI_DASHBOARD || isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
    return;
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return; /* no controlling terminal: it prints lines */
  if (dup2(fd, STDIN_FILENO) >= 0)
    clearerr(stdin);
  close(fd);
}

static int ui_bench_count(const char *opt, const char *arg, int lo, int *out) {
  char *end;
  long v = strtol(arg, &end, 10);
  if (*end || !*arg || v < lo || v > 1000) {
    return ui_opt_usage("bench", "%s %s: expected %d to 1000", opt, arg, lo);
  }
  *out = (int)v;
  return 0;
}

/* forktop bench ...: argv[0] is "bench". */
int ui_bench_main(int argc, char **argv) {
  static ui_bench_opts bo;
  memset(&bo, 0, sizeof bo);
  bo.runs = 3;
  bo.warmup = 1;
  ui_opts o = {.mode = UI_DASHBOARD, .delay_tenths = 1, .speed = 1};
  char **sets = calloc((size_t)argc + 1, sizeof *sets);
  const char *sizes_arg = NULL, *param_arg = NULL;
  char why[256], *end;
  int c, status = 2, sep_char = '\n';
  bool null_given = false;
  if (!sets)
    return 1;
  /* everything after "--" is the command, not ours to parse */
  char **cmd = NULL;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--") == 0) {
      cmd = &argv[i + 1];
      argv[i] = NULL;
      argc = i;
      break;
    }
  struct option longs[UI_OPT_MAX + 1];
  char shorts[3 * UI_OPT_MAX + 3];
  ui_opt_getopt(ui_bench_defs, ui_bench_nown(), ":", longs, shorts);
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
    switch (c) {
    case 'j':
      sizes_arg = optarg;
      break;
    case B_PARAM:
      param_arg = optarg;
      break;
    case 'r':
    case 'w':
      if ((status = ui_bench_count(c == 'r' ? "--runs" : "--warmup", optarg, c == 'r' ? 1 : 0,
                                   c == 'r' ? &bo.runs : &bo.warmup)) != 0)
        goto done;
      break;
    case B_PREPARE:
      bo.prepare = optarg;
      break;
    case B_CLEANUP:
      bo.cleanup = optarg;
      break;
    case B_JSON:
      bo.export_json = optarg;
      break;
    case B_CSV:
      bo.export_csv = optarg;
      break;
    case B_MD:
      bo.export_md = optarg;
      break;
    case B_SVG:
      bo.export_svg = optarg;
      break;
    case 's':
      if (!strchr(optarg, '=') || optarg[0] == '=') {
        status = ui_opt_usage("bench", "-s %s: expected KEY=VALUE", optarg);
        goto done;
      }
      sets[o.nsets++] = optarg;
      break;
    case '0':
      null_given = true;
      sep_char = '\0';
      break;
    case B_HEADLESS:
      o.mode = UI_HEADLESS;
      break;
    case B_ASCII:
      o.ascii = true;
      break;
    case 'd':
      o.delay_tenths = (int)strtol(optarg, &end, 10);
      if (*end || !*optarg || o.delay_tenths < 1 || o.delay_tenths > 600) {
        status = ui_opt_usage("bench", "-d %s: expected tenths of a second, 1 to 600", optarg);
        goto done;
      }
      break;
    case 'h':
      ui_bench_usage(stdout);
      status = 0;
      goto done;
    default: /* '?' or ':' */
      status = ui_opt_bad("bench", NULL, c, argv, ui_bench_defs, UI_BENCH_NDEFS, B_BENCH, NULL);
      goto done;
    }
  }
  o.sets = sets;
  const char *workload = optind < argc ? argv[optind] : NULL;
  if (optind + 1 < argc) {
    status = ui_opt_usage("bench", "unexpected argument '%s' (one WORKLOAD, or -- CMD)",
                          argv[optind + 1]);
    goto done;
  }
  if (workload && cmd) {
    status = ui_opt_usage("bench", "%s", "give a WORKLOAD or -- CMD, not both");
    goto done;
  }
  if (!workload && (!cmd || !cmd[0])) {
    status = ui_opt_usage("bench", "%s",
                          "nothing to run: give a WORKLOAD, or -j LIST -- CMD {}, or "
                          "--param N=LIST -- CMD");
    goto done;
  }
  if (cmd && !cmd[0][0]) {
    status = ui_opt_usage("bench", "%s", "the command is an empty string");
    goto done;
  }
  bo.kind = workload ? UI_BENCH_WORKLOAD : param_arg ? UI_BENCH_PARAM : UI_BENCH_POOL;
  bo.cmd = cmd;
  if (param_arg && (workload || sizes_arg)) {
    status = ui_opt_usage("bench", "%s",
                          workload ? "--param applies to -- CMD, not a WORKLOAD"
                                   : "--param and -j/--workers: choose one");
    goto done;
  }
  if (o.nsets && !workload) {
    status = ui_opt_usage("bench", "%s", "-s applies to a WORKLOAD only");
    goto done;
  }
  if (null_given && bo.kind != UI_BENCH_POOL) {
    status = ui_opt_usage("bench", "%s", "-0 applies to -j -- CMD only (its items)");
    goto done;
  }
  if (param_arg) {
    const char *eq = strchr(param_arg, '=');
    size_t n = eq ? (size_t)(eq - param_arg) : 0;
    bool ok = n > 0 && n < sizeof bo.param && !isdigit((unsigned char)param_arg[0]);
    for (size_t i = 0; ok && i < n; i++)
      ok = isalnum((unsigned char)param_arg[i]) || param_arg[i] == '_';
    if (!ok) {
      status = ui_opt_usage("bench", "--param %s: expected NAME=LIST (N=1..8, N=1,2,4)", param_arg);
      goto done;
    }
    memcpy(bo.param, param_arg, n);
    if (ui_bench_parse_sizes(eq + 1, "--param", &bo, why, sizeof why) < 0) {
      status = ui_opt_usage("bench", "%s", why);
      goto done;
    }
    char key[40];
    snprintf(key, sizeof key, "{%s}", bo.param);
    bool used = false;
    for (size_t i = 0; cmd[i]; i++)
      used |= strstr(cmd[i], key) != NULL;
    if (!used) {
      status = ui_opt_usage("bench", "--param: the command has no %s to replace", key);
      goto done;
    }
  } else if (sizes_arg) {
    if (ui_bench_parse_sizes(sizes_arg, workload ? "--workers" : "-j", &bo, why, sizeof why) < 0) {
      status = ui_opt_usage("bench", "%s", why);
      goto done;
    }
  } else { /* 1, 2, 4, ... up to twice the CPUs */
    for (int w = 1; w <= 2 * ft_cpu_count() && bo.nsizes < UI_BENCH_MAX_SIZES; w *= 2)
      bo.sizes[bo.nsizes++] = w;
  }
  if (workload) {
    char *path = ui_find_workload(workload);
    if (!path) {
      status = ui_opt_usage("bench",
                            "no workload named '%s' (see 'forktop list'; a file here is "
                            "./NAME)",
                            workload);
      goto done;
    }
    status = ui_bench(path, &o, &bo);
    free(path);
    goto done;
  }
  if (bo.kind == UI_BENCH_POOL) {
    int ncmd = 0, sep = -1;
    while (cmd[ncmd])
      ncmd++;
    for (int i = 0; i < ncmd; i++)
      if (strcmp(cmd[i], ":::") == 0 && sep < 0)
        sep = i;
    if (sep == 0) {
      status = ui_opt_usage("bench", "%s", "no command before :::");
      goto done;
    }
    if (sep > 0) {
      cmd[sep] = NULL;
      for (int i = sep + 1; i < ncmd; i++) {
        char **v = realloc(bo.items, (bo.nitems + 1) * sizeof *v);
        if (!v || !(v[bo.nitems] = strdup(cmd[i]))) {
          bo.items = v ? v : bo.items;
          status = 1;
          goto done;
        }
        bo.items = v;
        bo.nitems++;
      }
    } else if (isatty(STDIN_FILENO)) {
      status = ui_opt_usage("bench", "%s",
                            "-j reads its inputs from stdin (a terminal here): "
                            "forktop bench -j 1..4 -- CMD {} < inputs");
      goto done;
    } else if (ui_bench_read_items(stdin, sep_char, &bo) < 0) {
      status = 1;
      goto done;
    } else {
      ui_bench_keys_from_tty(&o);
    }
    if (!bo.nitems) {
      status = ui_opt_usage("bench", "%s", "no inputs: nothing to measure");
      goto done;
    }
  }
  status = ui_bench(NULL, &o, &bo);
done:
  for (size_t i = 0; i < bo.nitems; i++)
    free(bo.items[i]);
  free(bo.items);
  bo.items = NULL;
  bo.nitems = 0;
  free(sets);
  return status;
}
