/* main.c - forktop's command line: run, list, replay, help, version. */
#include "ui.h"
#include "ui_bench.h"
#include "ui_check.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define UI_DEFAULT_WORKLOAD "tour"

static void usage(FILE *f) {
  fprintf(f,
          "usage: forktop [OPTIONS] [run] [WORKLOAD]\n"
          "       forktop [OPTIONS] -- CMD [ARGS...]      watch a command's whole tree\n"
          "       forktop [OPTIONS] -p PID                watch a running tree, read-only\n"
          "       forktop map [-j N] [--joblog F] [OPTIONS] -- CMD [ARGS...] {}  (see map --help)\n"
          "       forktop list\n"
          "       forktop replay [OPTIONS] FILE\n"
          "       forktop bench WORKLOAD [--workers LIST] [--runs N] [--warmup N] [EXPORTS]\n"
          "       forktop check [--grace S] [--kill] [--json] -- CMD [ARGS...]\n"
          "\n"
          "Runs a multi-process workload and shows its processes, tasks, queues and\n"
          "exit codes as they happen.  WORKLOAD is the name of a shipped workload (see\n"
          "`forktop list`; never a file in the current directory) or a path, which\n"
          "has a '/' or ends in .ini (./mine, mine.ini); the default is \"" UI_DEFAULT_WORKLOAD
          "\".\n"
          "\n"
          "options:\n"
          "  --headless          print what happens as readable lines, then a summary\n"
          "  --json              print one JSON object per event (schema: docs/json.md)\n"
          "  --record FILE       also write the JSON event stream to FILE\n"
          "  -s, --set KEY=VALUE override a workload key (workers=8, main.tasks=100);\n"
          "                      may be repeated\n"
          "  -d TENTHS           dashboard refresh delay in tenths of a second (default 1)\n"
          "  --chaos kill-worker=RATE\n"
          "                      SIGKILL a random pool worker RATE times a second\n"
          "  --ascii             draw the tree with ASCII instead of Unicode\n"
          "  --speed X           replay: X times the recorded pace (default 1; 0: at once)\n"
          "  --scan              watch by scanning /proc, even where the kernel's process-\n"
          "                      event connector would see every process\n"
          "  --slurm nodes=N[,partition=P]\n"
          "                      run every pool's workers as Slurm job steps on N nodes\n"
          "\n"
          "check runs CMD; once it has exited and --grace seconds (default 1) have\n"
          "passed, it reports the processes still running, the zombies a parent did\n"
          "not reap, and the shared memory and SysV IPC objects left behind; --kill\n"
          "ends the leaked processes. Exit status 0 clean, 3 leaks, 1 forktop failed.\n"
          "\n"
          "bench options:\n"
          "  --workers LIST      pool sizes: 1,2,4,8 or 1..8 or 1..16:2 (default 1,2,4,... up\n"
          "                      to twice the CPUs)\n"
          "  --runs N            measured runs per size (default 3)\n"
          "  --warmup N          unmeasured runs first (default 1)\n"
          "  --export-json F, --export-csv F, --export-markdown F, --export-svg F\n"
          "                      write the results (every run, the statistics, the fit)\n"
          "  -h, --help          show this help\n"
          "  -V, --version       show the version\n"
          "\n"
          "exit status: 0 every task and process succeeded; 1 something failed;\n"
          "2 usage or workload-file error; 128+N stopped by signal N.\n");
}

static int usage_error(const char *fmt, const char *arg) {
  ft_buf shown = {0}; /* what was typed, shown inert */
  fprintf(stderr, "forktop: ");
  fprintf(stderr, fmt, ui_safe_cstr(&shown, arg));
  fprintf(stderr, "\nTry 'forktop --help'.\n");
  ft_buf_free(&shown);
  return 2;
}

/* The workload argument as a file to load, or a usage error (2) said. */
static int find_workload(const char *arg, char **path) {
  if (!(*path = ui_find_workload(arg)))
    return usage_error("no workload named '%s' (see 'forktop list'; a file here is ./NAME)", arg);
  size_t n = strlen(arg);
  if (n > 4 && strcmp(arg + n - 4, ".ini") == 0 && !strchr(arg, '/') && access(arg, F_OK) != 0) {
    /* "queue.ini" is a file here; a shipped workload is named without .ini */
    char stem[256];
    snprintf(stem, sizeof stem, "%.*s", (int)(n - 4), arg);
    char *shipped = ui_find_workload(stem);
    if (shipped) {
      free(shipped);
      free(*path);
      *path = NULL;
      return usage_error("no file '%s' here (the shipped workload is named without .ini)", arg);
    }
  }
  return 0;
}

/* Raise the soft limit on open files to the hard limit, as servers do.
 * Every pool worker and every watched child costs forktop descriptors (a
 * pidfd, its output pipes, a transport's fds), and a distribution's usual
 * soft limit of 1,024 would stop a pool of a few hundred workers where the
 * hard limit allows many thousands: that soft limit is kept low only for
 * old programs that use select(), which forktop does not.  Done first, for
 * every subcommand, before the loop sizes anything from the limit.  If it
 * cannot be raised, forktop runs within the soft limit and says so when a
 * fork fails for want of descriptors. */
static void raise_open_file_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int main(int argc, char **argv) {
  raise_open_file_limit();
  if (argc > 1 && strcmp(argv[1], "worker") == 0) /* internal: a hosts = tcp pool's worker */
    return ui_worker_main(argc - 1, argv + 1);
  /* map parses its own options (the command's are its command's) */
  if (argc > 1 && strcmp(argv[1], "map") == 0)
    return ui_map_main(argc - 1, argv + 1);
  ui_opts o = {.mode = UI_DASHBOARD, .delay_tenths = 1, .speed = 1};
  char **sets = calloc((size_t)argc + 2, sizeof *sets);
  static const struct option longs[] = {{"headless", no_argument, NULL, 'H'},
                                        {"json", no_argument, NULL, 'J'},
                                        {"record", required_argument, NULL, 'R'},
                                        {"set", required_argument, NULL, 's'},
                                        {"ascii", no_argument, NULL, 'A'},
                                        {"speed", required_argument, NULL, 'S'},
                                        {"help", no_argument, NULL, 'h'},
                                        {"version", no_argument, NULL, 'V'},
                                        {"workers", required_argument, NULL, 'W'},
                                        {"runs", required_argument, NULL, 'N'},
                                        {"warmup", required_argument, NULL, 'U'},
                                        {"export-json", required_argument, NULL, 'j'},
                                        {"export-csv", required_argument, NULL, 'c'},
                                        {"export-markdown", required_argument, NULL, 'm'},
                                        {"export-svg", required_argument, NULL, 'g'},
                                        {"chaos", required_argument, NULL, 'C'},
                                        {"grace", required_argument, NULL, 'G'},
                                        {"kill", no_argument, NULL, 'K'},
                                        {"scan", no_argument, NULL, 'Z'},
                                        {"slurm", required_argument, NULL, 'L'},
                                        {NULL, 0, NULL, 0}};
  int c, status = 2;
  char *end, why[256];
  ui_bench_opts bo = {.runs = 3, .warmup = 1};
  ui_check_opts co = {.grace = 1};
  /* Everything after "--" is a command to run, not ours to parse. */
  char **cmdv = NULL;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--") == 0) {
      cmdv = &argv[i + 1];
      argv[i] = NULL;
      argc = i;
      break;
    }
  const char *workers_arg = NULL;
  pid_t watch_pid = 0;
  bool speed_given = false;
  opterr = 0;
  /* GNU getopt permutes: options may come before or after the command and
   * the workload; everything after "--" is left alone. */
  while ((c = getopt_long(argc, argv, "s:d:p:hV", longs, NULL)) != -1) {
    switch (c) {
    case 'H':
      o.mode = UI_HEADLESS;
      break;
    case 'J':
      o.mode = UI_JSON;
      break;
    case 'R':
      o.record = optarg;
      break;
    case 's':
      if (!strchr(optarg, '=') || optarg[0] == '=') {
        status = usage_error("-s %s: expected KEY=VALUE", optarg);
        goto done;
      }
      sets[o.nsets++] = optarg;
      break;
    case 'd':
      o.delay_tenths = (int)strtol(optarg, &end, 10);
      if (*end || o.delay_tenths < 1 || o.delay_tenths > 600) {
        status = usage_error("-d %s: expected tenths of a second, 1 to 600", optarg);
        goto done;
      }
      break;
    case 'A':
      o.ascii = true;
      break;
    case 'S':
      speed_given = true;
      o.speed = strtod(optarg, &end);
      if (*end || o.speed < 0) {
        status = usage_error("--speed %s: expected a factor >= 0", optarg);
        goto done;
      }
      break;
    case 'W':
      workers_arg = optarg;
      if (ui_bench_parse_sizes(optarg, &bo, why, sizeof why) < 0) {
        status = usage_error("%s", why);
        goto done;
      }
      break;
    case 'N':
    case 'U': {
      long v = strtol(optarg, &end, 10);
      if (*end || !*optarg || v < (c == 'N' ? 1 : 0) || v > 1000) {
        status = usage_error(
            c == 'N' ? "--runs %s: expected 1 to 1000" : "--warmup %s: expected 0 to 1000", optarg);
        goto done;
      }
      *(c == 'N' ? &bo.runs : &bo.warmup) = (int)v;
      break;
    }
    case 'C': {
      /* --chaos kill-worker=RATE is the workload key chaos, in every pool */
      static char chaos[128];
      if (strncmp(optarg, "kill-worker=", 12) != 0) {
        status = usage_error("--chaos %s: expected kill-worker=RATE (kills a second)", optarg);
        goto done;
      }
      snprintf(chaos, sizeof chaos, "chaos=%s", optarg);
      sets[o.nsets++] = chaos;
      break;
    }
    case 'L': {
      /* --slurm nodes=N[,partition=P]: hosts = slurm:N (and slurm_args =
       * --partition=P) in every pool */
      static char hosts[32], part[160];
      char *e2;
      long n = strncmp(optarg, "nodes=", 6) == 0 ? strtol(optarg + 6, &e2, 10) : 0;
      if (n < 1 || n > 4096 || (*e2 && strncmp(e2, ",partition=", 11)) ||
          (*e2 && (!e2[11] || strpbrk(e2 + 11, " \t'\"\\")))) {
        status =
            usage_error("--slurm %s: expected nodes=N[,partition=P], N from 1 to 4096", optarg);
        goto done;
      }
      snprintf(hosts, sizeof hosts, "hosts=slurm:%ld", n);
      sets[o.nsets++] = hosts;
      if (*e2) {
        snprintf(part, sizeof part, "slurm_args=--partition=%s", e2 + 11);
        sets[o.nsets++] = part;
      }
      break;
    }
    case 'G':
      co.grace = strtod(optarg, &end);
      if (*end || !*optarg || !(co.grace >= 0 && co.grace <= 3600)) {
        status = usage_error("--grace %s: expected seconds, 0 to 3600", optarg);
        goto done;
      }
      break;
    case 'K':
      co.kill = true;
      break;
    case 'Z':
      o.scan_only = true;
      break;
    case 'p': {
      long v = strtol(optarg, &end, 10);
      if (*end || !*optarg || v < 1 || v > INT32_MAX) {
        status = usage_error("-p %s: expected a process id", optarg);
        goto done;
      }
      watch_pid = (pid_t)v;
      break;
    }
    case 'j':
      bo.export_json = optarg;
      break;
    case 'c':
      bo.export_csv = optarg;
      break;
    case 'm':
      bo.export_md = optarg;
      break;
    case 'g':
      bo.export_svg = optarg;
      break;
    case 'h':
      usage(stdout);
      status = 0;
      goto done;
    case 'V':
      printf("forktop %s\n", FT_VERSION);
      status = 0;
      goto done;
    default:
      status = usage_error("unknown option '%s'", argv[optind - 1]);
      goto done;
    }
  }
  o.sets = sets;
  if (optind < argc && strcmp(argv[optind], "run") == 0)
    optind++;
  const char *cmd = optind < argc ? argv[optind] : NULL;
  {
    /* an option given where it means nothing is a usage error, not dropped */
    const char *what = cmd && (!strcmp(cmd, "replay") || !strcmp(cmd, "list") ||
                               !strcmp(cmd, "bench") || !strcmp(cmd, "check"))
                           ? cmd
                       : cmdv || watch_pid ? "watch"
                                           : "run";
    bool run = !strcmp(what, "run"), watch = !strcmp(what, "watch");
    const char *stray = NULL;
    if (o.record && !run && !watch)
      stray = "--record";
    else if (o.nsets && !run && strcmp(what, "bench"))
      stray = "-s/--chaos";
    else if (speed_given && strcmp(what, "replay"))
      stray = "--speed";
    else if (o.scan_only && !watch)
      stray = "--scan";
    if (stray) {
      char msg[96];
      snprintf(msg, sizeof msg, "%s does not apply to %s", stray, what);
      status = usage_error("%s", msg);
      goto done;
    }
  }
  if (cmd && strcmp(cmd, "map") == 0) {
    status = usage_error("%s", "map comes first, its options after it: "
                               "forktop map [OPTIONS] -- CMD");
    goto done;
  }
  if (cmd && strcmp(cmd, "check") == 0) {
    if (optind + 1 < argc || !cmdv || !cmdv[0]) {
      status =
          usage_error("%s", "usage: forktop check [--grace S] [--kill] [--json] -- CMD [ARGS...]");
      goto done;
    }
    co.json = o.mode == UI_JSON;
    status = ui_check_run(cmdv, &co);
    goto done;
  }
  if (cmdv || watch_pid) {
    if (cmd || (cmdv && watch_pid) || (cmdv && !cmdv[0])) {
      status = usage_error("%s", "use forktop [OPTIONS] -- CMD [ARGS...] or forktop -p PID");
      goto done;
    }
    status = cmdv ? ui_watch_command(cmdv, &o) : ui_watch_pid(watch_pid, &o);
    goto done;
  }
  if (cmd && strcmp(cmd, "list") == 0) {
    if (optind + 1 < argc) {
      status = usage_error("list takes no argument (got '%s')", argv[optind + 1]);
      goto done;
    }
    status = ui_list_workloads(stdout);
    goto done;
  }
  if (cmd && strcmp(cmd, "replay") == 0) {
    if (optind + 2 != argc) {
      status = usage_error("%s", "replay takes exactly one FILE");
      goto done;
    }
    status = ui_replay(argv[optind + 1], &o);
    goto done;
  }
  if (cmd && strcmp(cmd, "bench") == 0) {
    if (optind + 2 != argc) {
      status = usage_error("%s", "bench takes exactly one WORKLOAD");
      goto done;
    }
    char *path;
    if ((status = find_workload(argv[optind + 1], &path)) != 0)
      goto done;
    if (!workers_arg) /* 1, 2, 4, ... up to twice the CPUs */
      for (int w = 1; w <= 2 * ft_cpu_count() && bo.nsizes < UI_BENCH_MAX_SIZES; w *= 2)
        bo.sizes[bo.nsizes++] = w;
    status = ui_bench(path, &o, &bo);
    free(path);
    goto done;
  }
  if (optind + 1 < argc) {
    status = usage_error("unexpected argument '%s'", argv[optind + 1]);
    goto done;
  }
  const char *name = cmd ? cmd : UI_DEFAULT_WORKLOAD;
  char *path;
  if ((status = find_workload(name, &path)) != 0)
    goto done;
  status = ui_run_workload(path, &o);
  free(path);
done:
  free(sets);
  return status;
}
