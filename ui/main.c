/* main.c - forktop's command line: a table of subcommands, each with its
 * own options, usage and help; the conventions they share are ui_opt.c's.
 *
 *   forktop [run] [OPTIONS] [WORKLOAD]      forktop [watch] [OPTIONS] -- CMD
 *   forktop [watch] [OPTIONS] -p PID        forktop map|list|replay|bench|check|help ...
 *
 * Options may come before or after the command word and the workload
 * (GNU getopt permutes them); everything after "--" is a command to run.
 * A command that parses its own options (map, bench, the internal worker) is
 * handed its argv with its name first, whatever options came before it. */
#include "ui.h"
#include "ui_bench.h"
#include "ui_check.h"
#include "ui_opt.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define UI_DEFAULT_WORKLOAD "tour"

/* The commands, each a bit of the options' masks (in ui_cmd_names' order). */
enum {
  C_RUN = 1 << 0,
  C_WATCH = 1 << 1,
  C_MAP = 1 << 2,
  C_LIST = 1 << 3,
  C_REPLAY = 1 << 4,
  C_BENCH = 1 << 5,
  C_CHECK = 1 << 6,
  C_HELP = 1 << 7,
  C_WORKER = 1 << 8,
  C_AGENT = 1 << 9,
};
static const char *const ui_cmd_names[] = {"run",   "watch", "map",  "list",   "replay",
                                           "bench", "check", "help", "worker", "agent"};

typedef struct ui_cmd {
  const char *name;
  unsigned bit;
  const char *usage;   /* its synopsis, one "forktop ..." per line */
  const char *summary; /* its line in the list of commands */
  const char *about;   /* its help's text after the synopsis */
  const char *exits;   /* its help's last words, after the options (run: ui_exit_status) */
  int (*own_main)(int argc, char **argv); /* parses its own options; argv[0] is its name */
  bool hidden;
} ui_cmd;

static const ui_cmd ui_cmds[] = {
    {.name = "run",
     .bit = C_RUN,
     .usage = "forktop [run] [OPTIONS] [WORKLOAD]",
     .summary = "run a workload (the default command)",
     .about = "Runs a multi-process workload and shows its processes, tasks, queues and\n"
              "exit codes as they happen.  WORKLOAD is the name of a shipped workload (see\n"
              "`forktop list`; never a file in the current directory) or a path, which\n"
              "has a '/' or ends in .ini (./mine, mine.ini); the default is "
              "\"" UI_DEFAULT_WORKLOAD "\".\n"},
    {.name = "watch",
     .bit = C_WATCH,
     .usage = "forktop [watch] [OPTIONS] -- CMD [ARGS...]\nforktop [watch] [OPTIONS] -p PID",
     .summary = "run a command and watch its whole tree, or watch a running tree (-p)",
     .about = "With -- CMD, runs CMD and shows every process of its tree until it exits;\n"
              "with -p PID, shows a running tree read-only (nothing is signalled).  The\n"
              "word watch may be left out.\n",
     .exits = "exit status: CMD's (PID's with -p; 0 when it cannot be known); 2 usage\n"
              "error; 128+N stopped by signal N.\n"},
    {.name = "map",
     .bit = C_MAP,
     .usage = "forktop map [-j N] [--joblog F] [OPTIONS] -- CMD [ARGS...] {}",
     .summary = "run a command once per input line on N workers (GNU parallel's way)",
     .own_main = ui_map_main},
    {.name = "list",
     .bit = C_LIST,
     .usage = "forktop list",
     .summary = "list the shipped workloads",
     .about = "Prints each shipped workload's name and description.\n"},
    {.name = "replay",
     .bit = C_REPLAY,
     .usage = "forktop replay [OPTIONS] FILE",
     .summary = "show a --record recording again",
     .about = "Shows a recording made with --record as the run showed it, at its pace\n"
              "(--speed changes it).\n",
     .exits = "exit status: 0 shown; 2 usage error, or a FILE that cannot be read or\n"
              "holds a line that is not JSON.\n"},
    {.name = "bench",
     .bit = C_BENCH,
     .usage = "forktop bench WORKLOAD|-j LIST -- CMD|--param N=LIST -- CMD",
     .summary = "time a workload or any command over a sweep of sizes (hyperfine's way)",
     .own_main = ui_bench_main},
    {.name = "check",
     .bit = C_CHECK,
     .usage = "forktop check [--grace S] [--kill] [--json] -- CMD [ARGS...]",
     .summary = "run a command and report what it leaves behind",
     .about = "Runs CMD; once it has exited and --grace seconds (default 1) have passed,\n"
              "reports the processes still running, the zombies a parent did not reap,\n"
              "and the shared memory and SysV IPC objects left behind; --kill ends the\n"
              "leaked processes.\n",
     .exits = "exit status: 0 clean; 3 leaks found; 1 forktop failed; 2 usage error.\n"},
    {.name = "help",
     .bit = C_HELP,
     .usage = "forktop help [COMMAND]",
     .summary = "show the help of forktop or of a command",
     .about = "Shows forktop's help, or COMMAND's (as forktop COMMAND --help does).\n"},
    {.name = "worker",
     .bit = C_WORKER,
     .usage = "forktop worker --connect ADDR:PORT",
     .summary = "internal: a hosts = tcp pool's worker",
     .own_main = ui_worker_main,
     .hidden = true},
    {.name = "agent",
     .bit = C_AGENT,
     .usage = "forktop agent --job JOBID",
     .summary = "internal: a hosts = slurm:N pool's per-node agent",
     .own_main = ui_agent_main,
     .hidden = true},
};
#define UI_NCMDS (sizeof ui_cmds / sizeof ui_cmds[0])

enum {
  O_HEADLESS = 256,
  O_JSON,
  O_RECORD,
  O_ASCII,
  O_SPEED,
  O_SCAN,
  O_CHAOS,
  O_GRACE,
  O_KILL,
  O_READONLY,
  O_SLURM,
  O_BENCH, /* one of bench's: never reaches ui_take (bench parses its own) */
};

/* Every option main.c parses and the commands it applies to. */
static const ui_optdef ui_main_opts[] = {
    {"headless", 0, NULL, O_HEADLESS, C_RUN | C_WATCH | C_REPLAY,
     "print what happens as readable lines, then a summary"},
    {"json", 0, NULL, O_JSON, C_RUN | C_WATCH | C_REPLAY | C_CHECK,
     "print one JSON object per event (schema: docs/json.md)"},
    {"record", 0, "FILE", O_RECORD, C_RUN | C_WATCH, "also write the JSON event stream to FILE"},
    {"set", 's', "KEY=VALUE", 's', C_RUN,
     "override a workload key (workers=8, main.tasks=100);\nmay be repeated"},
    {NULL, 'd', "TENTHS", 'd', C_RUN | C_WATCH | C_REPLAY,
     "dashboard refresh delay in tenths of a second (default 1)"},
    {"chaos", 0, "kill-worker=RATE", O_CHAOS, C_RUN,
     "SIGKILL a random pool worker RATE times a second"},
    {"ascii", 0, NULL, O_ASCII, C_RUN | C_WATCH | C_REPLAY,
     "draw the tree with ASCII instead of Unicode"},
    {"readonly", 0, NULL, O_READONLY, C_RUN | C_WATCH | C_REPLAY,
     "the dashboard sends no signal (k and F9 do nothing)"},
    {"slurm", 0, "nodes=N[,partition=P]", O_SLURM, C_RUN,
     "run every pool's workers as Slurm job steps on N nodes"},
    {NULL, 'p', "PID", 'p', C_WATCH, "watch the running tree of PID, read-only"},
    {"scan", 0, NULL, O_SCAN, C_WATCH,
     "watch by scanning /proc, even where the kernel's process-\nevent connector would see "
     "every process"},
    {"speed", 0, "X", O_SPEED, C_REPLAY, "X times the recorded pace (default 1; 0: at once)"},
    /* bench parses its own (ui_bench_cli.c); these rows only tell the
     * other commands that they are bench's */
    {"workers", 0, "LIST", O_BENCH, C_BENCH, "pool sizes"},
    {"param", 0, "NAME=LIST", O_BENCH, C_BENCH, "a command's parameter"},
    {"runs", 0, "N", O_BENCH, C_BENCH, "measured runs per size"},
    {"warmup", 0, "N", O_BENCH, C_BENCH, "unmeasured runs first"},
    {"prepare", 0, "CMD", O_BENCH, C_BENCH, "before every run"},
    {"cleanup", 0, "CMD", O_BENCH, C_BENCH, "after each size's runs"},
    {"export-json", 0, "F", O_BENCH, C_BENCH, "hyperfine's JSON"},
    {"export-csv", 0, "F", O_BENCH, C_BENCH, "CSV"},
    {"export-markdown", 0, "F", O_BENCH, C_BENCH, "a Markdown table"},
    {"export-svg", 0, "F", O_BENCH, C_BENCH, "an SVG chart"},
    {"grace", 0, "S", O_GRACE, C_CHECK, "seconds to wait after CMD exits (default 1)"},
    {"kill", 0, NULL, O_KILL, C_CHECK, "end the leaked processes"},
    {"help", 'h', NULL, 'h', 0, "show this help"},
    {"version", 'V', NULL, 'V', 0, "show the version"},
};
#define UI_NOPTS (sizeof ui_main_opts / sizeof ui_main_opts[0])

static const char ui_exit_status[] =
    "exit status: 0 every task and process succeeded; 1 something failed;\n"
    "2 usage or workload-file error; 128+N stopped by signal N.\n";

static const ui_cmd *ui_cmd_find(const char *name) {
  for (size_t i = 0; i < UI_NCMDS; i++)
    if (strcmp(ui_cmds[i].name, name) == 0)
      return &ui_cmds[i];
  return NULL;
}

static void ui_synopsis(FILE *f, const char *usage, bool *first) {
  for (const char *p = usage; *p;) {
    const char *nl = strchr(p, '\n');
    int n = nl ? (int)(nl - p) : (int)strlen(p);
    fprintf(f, "%s%.*s\n", *first ? "usage: " : "       ", n, p);
    *first = false;
    p += n + (nl != NULL);
  }
}

/* forktop --help: every command's synopsis and what it is for. */
static void ui_help_all(FILE *f) {
  bool first = true;
  for (size_t i = 0; i < UI_NCMDS; i++)
    if (!ui_cmds[i].hidden)
      ui_synopsis(f, ui_cmds[i].usage, &first);
  fprintf(f, "\n%s\ncommands:\n", ui_cmds[0].about);
  for (size_t i = 0; i < UI_NCMDS; i++)
    if (!ui_cmds[i].hidden)
      fprintf(f, "  %-8s %s\n", ui_cmds[i].name, ui_cmds[i].summary);
  fprintf(f, "\n'forktop help COMMAND' or 'forktop COMMAND --help' shows a command's options.\n"
             "\noptions of every command:\n");
  for (size_t i = 0; i < UI_NOPTS; i++)
    if (!ui_main_opts[i].cmds)
      ui_opt_help(f, &ui_main_opts[i], 1, 0);
  fprintf(f, "\nenvironment: NO_COLOR, FORKTOP_NO_CGROUP, FORKTOP_WORKLOADS (see forktop(1))\n%s",
          ui_exit_status);
}

/* forktop help CMD, forktop CMD --help. */
static int ui_help_cmd(const ui_cmd *c) {
  if (c->own_main) {
    char name[32], help[] = "--help";
    snprintf(name, sizeof name, "%s", c->name);
    char *argv[] = {name, help, NULL};
    optind = 0; /* getopt starts afresh */
    return c->own_main(2, argv);
  }
  bool first = true;
  ui_synopsis(stdout, c->usage, &first);
  printf("\n%s\noptions:\n", c->about);
  ui_opt_help(stdout, ui_main_opts, UI_NOPTS, c->bit);
  if (c->exits || c->bit == C_RUN)
    printf("\n%s", c->exits ? c->exits : ui_exit_status);
  return 0;
}

/* Free ui_workload_names' answer. */
static void ui_names_free(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

/* "no workload named X", with the command or the workload it may be a typo of. */
static int ui_no_workload(const char *arg, bool implied) {
  char **names = ui_workload_names();
  size_t n = 0;
  while (names && names[n])
    n++;
  const char *cmds[UI_NCMDS];
  size_t nc = 0;
  for (size_t i = 0; i < UI_NCMDS; i++)
    if (!ui_cmds[i].hidden)
      cmds[nc++] = ui_cmds[i].name;
  const char *cmd = implied ? ui_opt_nearest(arg, cmds, nc) : NULL;
  const char *wl = ui_opt_nearest(arg, (const char *const *)names, n);
  int rc;
  if (cmd && (!wl || ui_opt_distance(arg, cmd) <= ui_opt_distance(arg, wl)))
    rc = ui_opt_usage(NULL, "no command or workload named '%s' (did you mean 'forktop %s'?)", arg,
                      cmd);
  else if (wl)
    rc = ui_opt_usage(NULL, "no workload named '%s' (did you mean '%s'? see 'forktop list')", arg,
                      wl);
  else
    rc = ui_opt_usage(NULL, "no workload named '%s' (see 'forktop list'; a file here is ./NAME)",
                      arg);
  ui_names_free(names);
  return rc;
}

/* The workload argument as a file to load, or a usage error (2) said. */
static int find_workload(const char *arg, bool implied, char **path) {
  if (!(*path = ui_find_workload(arg)))
    return ui_no_workload(arg, implied);
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
      return ui_opt_usage(NULL, "no file '%s' here (the shipped workload is named without .ini)",
                          arg);
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

/* Does the option token argv[i] (before "--") take the next word as its
 * value?  Only main.c's options are known; an unknown one is taken to
 * take none, and getopt says it is unknown later. */
static bool ui_takes_next(const char *tok) {
  if (tok[1] == '-') {
    if (strchr(tok, '='))
      return false;
    const ui_optdef *m = NULL;
    size_t l = strlen(tok + 2), nm = 0;
    for (size_t i = 0; i < UI_NOPTS; i++)
      if (ui_main_opts[i].lng && strncmp(ui_main_opts[i].lng, tok + 2, l) == 0) {
        if (!ui_main_opts[i].lng[l])
          return ui_main_opts[i].arg != NULL;
        m = &ui_main_opts[i], nm++;
      }
    return nm == 1 && m->arg;
  }
  for (const char *p = tok + 1; *p; p++)
    for (size_t i = 0; i < UI_NOPTS; i++)
      if (ui_main_opts[i].shrt == *p && ui_main_opts[i].arg)
        return p[1] == '\0'; /* "-d3" holds its value */
  return false;
}

/* What the command line asked for, once parsed. */
typedef struct ui_args {
  ui_opts o;
  ui_check_opts co;
  char **sets;
  pid_t watch_pid;
  bool given[UI_NOPTS];
} ui_args;

/* One option getopt returned; 0, or the usage error's status. */
static int ui_take(ui_args *a, int c, const char *cmd) {
  char *end;
  switch (c) {
  case O_HEADLESS:
    a->o.mode = UI_HEADLESS;
    break;
  case O_JSON:
    a->o.mode = UI_JSON;
    break;
  case O_RECORD:
    a->o.record = optarg;
    break;
  case 's':
    if (!strchr(optarg, '=') || optarg[0] == '=')
      return ui_opt_usage(cmd, "-s %s: expected KEY=VALUE", optarg);
    a->sets[a->o.nsets++] = optarg;
    break;
  case 'd':
    a->o.delay_tenths = (int)strtol(optarg, &end, 10);
    if (*end || !*optarg || a->o.delay_tenths < 1 || a->o.delay_tenths > 600)
      return ui_opt_usage(cmd, "-d %s: expected tenths of a second, 1 to 600", optarg);
    break;
  case O_ASCII:
    a->o.ascii = true;
    break;
  case O_SPEED:
    a->o.speed = strtod(optarg, &end);
    if (*end || !*optarg || !(a->o.speed >= 0))
      return ui_opt_usage(cmd, "--speed %s: expected a factor >= 0", optarg);
    break;
  case O_CHAOS: {
    /* --chaos kill-worker=RATE is the workload key chaos, in every pool */
    static char chaos[128];
    if (strncmp(optarg, "kill-worker=", 12) != 0)
      return ui_opt_usage(cmd, "--chaos %s: expected kill-worker=RATE (kills a second)", optarg);
    snprintf(chaos, sizeof chaos, "chaos=%s", optarg);
    a->sets[a->o.nsets++] = chaos;
    break;
  }
  case O_GRACE:
    a->co.grace = strtod(optarg, &end);
    if (*end || !*optarg || !(a->co.grace >= 0 && a->co.grace <= 3600))
      return ui_opt_usage(cmd, "--grace %s: expected seconds, 0 to 3600", optarg);
    break;
  case O_KILL:
    a->co.kill = true;
    break;
  case O_SCAN:
    a->o.scan_only = true;
    break;
  case 'p': {
    long v = strtol(optarg, &end, 10);
    if (*end || !*optarg || v < 1 || v > INT32_MAX)
      return ui_opt_usage(cmd, "-p %s: expected a process id", optarg);
    a->watch_pid = (pid_t)v;
    break;
  }
  case O_READONLY:
    a->o.readonly = true;
    break;
  case O_SLURM: {
    /* --slurm nodes=N[,partition=P]: hosts = slurm:N (and slurm_args =
     * --partition=P) in every pool */
    static char hosts[32], part[160];
    char *e2 = NULL;
    long n = strncmp(optarg, "nodes=", 6) == 0 ? strtol(optarg + 6, &e2, 10) : 0;
    if (n < 1 || n > 4096 || (*e2 && strncmp(e2, ",partition=", 11)) ||
        (*e2 && (!e2[11] || strpbrk(e2 + 11, " \t'\"\\"))))
      return ui_opt_usage(cmd, "--slurm %s: expected nodes=N[,partition=P], N from 1 to 4096",
                          optarg);
    snprintf(hosts, sizeof hosts, "hosts=slurm:%ld", n);
    a->sets[a->o.nsets++] = hosts;
    if (*e2) {
      snprintf(part, sizeof part, "slurm_args=--partition=%s", e2 + 11);
      a->sets[a->o.nsets++] = part;
    }
    break;
  }
  default:
    break;
  }
  return 0;
}

/* Run the command c (NULL: run or watch, as the arguments say) with the
 * positional arguments pos[0..npos) and the command after "--" (cmdv). */
static int ui_dispatch(const ui_cmd *c, ui_args *a, char **pos, int npos, char **cmdv) {
  const char *name = c ? c->name : NULL;
  unsigned bit = c ? c->bit : (cmdv || a->watch_pid) ? C_WATCH : C_RUN;
  const char *what = ui_cmd_names[__builtin_ctz(bit)];
  /* an option given where it means nothing is a usage error, not dropped */
  for (size_t i = 0; i < UI_NOPTS; i++)
    if (a->given[i] && ui_main_opts[i].cmds && !(ui_main_opts[i].cmds & bit)) {
      char opt[40];
      if (ui_main_opts[i].lng)
        snprintf(opt, sizeof opt, "--%s", ui_main_opts[i].lng);
      else
        snprintf(opt, sizeof opt, "-%c", ui_main_opts[i].shrt);
      return ui_opt_usage(name, "%s does not apply to %s", opt, what);
    }
  /* --readonly means no signal at all: --chaos (or -s chaos=) kills workers */
  for (size_t i = 0; a->o.readonly && i < a->o.nsets; i++)
    if (!strncmp(a->o.sets[i], "chaos=", 6) || strstr(a->o.sets[i], ".chaos="))
      return ui_opt_usage(name, "%s", "--readonly sends no signal, and --chaos kills workers");
  if (cmdv && !(bit & (C_WATCH | C_CHECK)))
    return ui_opt_usage(name, "-- CMD does not apply to %s%s", what,
                        bit == C_RUN ? " (forktop -- CMD watches CMD's tree)" : "");
  switch (bit) {
  case C_RUN: {
    if (npos > 1)
      return ui_opt_usage(name, "unexpected argument '%s'", pos[1]);
    char *path;
    int status = find_workload(npos ? pos[0] : UI_DEFAULT_WORKLOAD, !c, &path);
    if (status)
      return status;
    status = ui_run_workload(path, &a->o);
    free(path);
    return status;
  }
  case C_WATCH:
    if (npos)
      return ui_opt_usage(name, "unexpected argument '%s' (watch takes -- CMD or -p PID)", pos[0]);
    if ((cmdv && a->watch_pid) || (cmdv && !cmdv[0]) || (!cmdv && !a->watch_pid))
      return ui_opt_usage(name, "%s", "use forktop [OPTIONS] -- CMD [ARGS...] or forktop -p PID");
    return cmdv ? ui_watch_command(cmdv, &a->o) : ui_watch_pid(a->watch_pid, &a->o);
  case C_LIST:
    if (npos)
      return ui_opt_usage(name, "no argument is expected (got '%s')", pos[0]);
    return ui_list_workloads(stdout);
  case C_REPLAY:
    if (npos != 1)
      return ui_opt_usage(name, "%s", "expected exactly one FILE");
    return ui_replay(pos[0], &a->o);
  case C_CHECK:
    if (npos || !cmdv || !cmdv[0])
      return ui_opt_usage(name, "%s", "usage: forktop check [--grace S] [--kill] [--json] -- CMD");
    a->co.json = a->o.mode == UI_JSON;
    return ui_check_run(cmdv, &a->co);
  case C_HELP: {
    if (npos > 1)
      return ui_opt_usage(name, "unexpected argument '%s'", pos[1]);
    if (!npos) {
      ui_help_all(stdout);
      return 0;
    }
    const ui_cmd *h = ui_cmd_find(pos[0]);
    if (!h) {
      const char *cmds[UI_NCMDS];
      size_t nc = 0;
      for (size_t i = 0; i < UI_NCMDS; i++)
        if (!ui_cmds[i].hidden)
          cmds[nc++] = ui_cmds[i].name;
      const char *near = ui_opt_nearest(pos[0], cmds, nc);
      return near ? ui_opt_usage(name, "no command '%s' (did you mean '%s'?)", pos[0], near)
                  : ui_opt_usage(name, "no command '%s'", pos[0]);
    }
    return ui_help_cmd(h);
  }
  default:
    return 2;
  }
}

int main(int argc, char **argv) {
  raise_open_file_limit();
  ui_json_set_argv(argc, argv);
  /* The command word: the first argument that is no option nor an
   * option's value, before "--". */
  int word = 0;
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (argv[i][0] != '-' || !argv[i][1]) {
      word = i;
      break;
    }
    if (ui_takes_next(argv[i]))
      i++;
  }
  const ui_cmd *c = word ? ui_cmd_find(argv[word]) : NULL;
  if (c && c->own_main) { /* its name first, then everything else in order */
    char *name = argv[word];
    memmove(&argv[2], &argv[1], (size_t)(word - 1) * sizeof *argv);
    argv[1] = name;
    return c->own_main(argc - 1, argv + 1);
  }
  if (c) { /* take the word out: what is left is options and operands */
    memmove(&argv[word], &argv[word + 1], (size_t)(argc - word) * sizeof *argv);
    argc--;
  }
  /* Everything after "--" is a command to run, not ours to parse. */
  char **cmdv = NULL;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--") == 0) {
      cmdv = &argv[i + 1];
      argv[i] = NULL;
      argc = i;
      break;
    }
  ui_args a = {.o = {.mode = UI_DASHBOARD, .delay_tenths = 1, .speed = 1}, .co = {.grace = 1}};
  int status = 2;
  if (!(a.sets = calloc(2 * (size_t)argc + 1, sizeof *a.sets))) /* --slurm makes two */
    return 1;
  const char *name = c ? c->name : NULL;
  unsigned mask = c ? c->bit : cmdv ? C_WATCH : C_RUN | C_WATCH;
  const char *what = c ? c->name : cmdv ? "watch" : "run";
  ui_optdef defs[UI_NOPTS];
  size_t nd = 0;
  for (size_t i = 0; i < UI_NOPTS; i++)
    if (!ui_main_opts[i].cmds || (ui_main_opts[i].cmds & mask))
      defs[nd++] = ui_main_opts[i];
  struct option longs[UI_OPT_MAX + 1];
  char shorts[3 * UI_OPT_MAX + 3];
  ui_opt_getopt(defs, nd, ":", longs, shorts);
  opterr = 0;
  int ch;
  while ((ch = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
    if (ch == '?' || ch == ':') {
      status = ui_opt_bad(name, what, ch, argv, ui_main_opts, UI_NOPTS, mask, ui_cmd_names);
      goto done;
    }
    if (ch == 'h') {
      status = 0;
      if (c)
        status = ui_help_cmd(c);
      else
        ui_help_all(stdout);
      goto done;
    }
    if (ch == 'V') {
      printf("forktop %s\n", FT_VERSION);
      status = 0;
      goto done;
    }
    for (size_t i = 0; i < UI_NOPTS; i++)
      if (ui_main_opts[i].id == ch)
        a.given[i] = true;
    if ((status = ui_take(&a, ch, name)) != 0)
      goto done;
  }
  a.o.sets = a.sets;
  status = ui_dispatch(c, &a, &argv[optind], argc - optind, cmdv);
done:
  free(a.sets);
  return status;
}
