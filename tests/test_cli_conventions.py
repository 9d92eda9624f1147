#!/usr/bin/env python3
"""The command line's conventions: a help page per subcommand (forktop help
CMD and forktop CMD --help alike), --version from the build, "did you mean"
for commands, workloads and options, "needs a value", and an option that
means nothing for a command is a usage error (exit 2) everywhere.

usage: test_cli_conventions.py FORKTOP_BINARY WORKLOADS_DIR [unittest args]
"""
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftcase import FORKTOP, ForktopCase, main, tagged_pids, wait_for  # noqa: E402

COMMANDS = ["run", "watch", "map", "list", "replay", "bench", "check"]
SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Help(ForktopCase):
    def test_each_command_has_its_own_help(self):
        pages = {}
        for cmd in COMMANDS:
            a = self.run_ft("help", cmd)
            b = self.run_ft(cmd, "--help")
            self.assertEqual((a.returncode, b.returncode), (0, 0), (cmd, a.stderr, b.stderr))
            self.assertEqual(a.stdout, b.stdout, cmd)
            first = a.stdout.splitlines()[0]
            self.assertTrue(first.startswith("usage: forktop"), first)
            self.assertIn(cmd, a.stdout.split("\n\n")[0], cmd)  # the synopsis names it
            pages[cmd] = a.stdout
        self.assertEqual(len(set(pages.values())), len(COMMANDS), "two commands share a page")
        # each page lists the options of its command, not the others'
        self.assertIn("--speed", pages["replay"])
        self.assertNotIn("--speed", pages["run"])
        self.assertIn("--workers", pages["bench"])
        self.assertNotIn("--workers", pages["run"])
        self.assertIn("--grace", pages["check"])
        self.assertIn("-p PID", pages["watch"])

    def test_help_alone_and_unknown(self):
        p = self.run_ft("help")
        self.assertEqual(p.returncode, 0, p.stderr)
        for cmd in COMMANDS:
            self.assertRegex(p.stdout, rf"\n  {cmd} ", cmd)
        self.assertEqual(p.stdout, self.run_ft("--help").stdout)
        p = self.run_ft("help", "lst")
        self.assertEqual(p.returncode, 2)
        self.assertIn("did you mean 'list'", p.stderr)

    def test_version_is_the_builds(self):
        with open(os.path.join(SOURCE, "include/forktop/forktop.h")) as f:
            version = re.search(r'#define FT_VERSION "([^"]+)"', f.read()).group(1)
        for args in (["--version"], ["-V"], ["run", "--version"]):
            p = self.run_ft(*args)
            self.assertEqual((p.returncode, p.stdout), (0, f"forktop {version}\n"), args)


class UsageErrors(ForktopCase):
    def usage(self, *args, says):
        p = self.run_ft(*args)
        self.assertEqual(p.returncode, 2, (args, p.stdout, p.stderr))
        self.assertIn(says, p.stderr, args)
        self.assertRegex(p.stderr, r"\nTry 'forktop( [a-z]+)? --help'\.\n$", args)
        self.assertEqual(p.stdout, "", args)
        return p

    def test_did_you_mean(self):
        self.usage("rnu", says="did you mean 'forktop run'?")
        self.usage("lsit", says="did you mean 'forktop list'?")
        self.usage("cpu-mapp", says="did you mean 'cpu-map'?")
        self.usage("run", "pool-slep", says="did you mean 'pool-sleep'?")
        self.usage("run", "fork", "--hedless", says="did you mean '--headless'?")
        self.usage("bench", "cpu-map", "--wokers", "2", says="did you mean '--workers'?")
        self.usage("map", "--jbos", "2", "--", "true", says="did you mean '--jobs'?")
        self.usage("run", "fork", "--wrkers", "2", says="--workers is bench's")
        self.usage("run", "no-such-thing-at-all", says="see 'forktop list'")

    def test_option_needs_a_value(self):
        for args, opt in ((["-d"], "-d"), (["run", "fork", "-d"], "-d"), (["map", "-j"], "-j"),
                          (["check", "--grace"], "--grace"), (["replay", "--spe"], "--speed"),
                          (["map", "--joblo"], "--joblog")):
            self.usage(*args, says=f"option '{opt}' needs a value")

    def test_options_that_mean_nothing_for_the_command(self):
        out = os.path.join(self.dir, "out.json")
        for args, says in ((["run", "cpu-map", "--workers", "1"], "--workers does not apply to run"),
                           (["run", "cpu-map", "--export-json", out], "--export-json does not apply"),
                           (["cpu-map", "--runs", "2"], "--runs does not apply to run"),
                           (["list", "--json"], "--json does not apply to list"),
                           (["check", "--headless", "--", "true"], "--headless does not apply to check"),
                           (["replay", "--record", out, "x"], "--record does not apply to replay"),
                           (["--kill", "--", "true"], "--kill does not apply to watch"),
                           (["-p", "1", "run", "fork"], "-p does not apply to run"),
                           (["run", "fork", "--", "true"], "-- CMD does not apply to run"),
                           (["map", "--set", "x=1", "--", "true"], "unknown option '--set'"),
                           (["--json=yes", "run", "fork"], "option '--json' takes no value"),
                           (["bench", "cpu-map", "--export", out], "'--export' is ambiguous")):
            self.usage(*args, says=says)
        self.assertFalse(os.path.exists(out))

    def test_options_before_a_command_that_parses_its_own(self):
        p = self.run_ft("--json", "-d", "2", "map", "-j", "1", "--", "echo", ":::", "a", "b")
        evs, s = self.json_events(p)
        self.assertEqual(sorted(self.output_lines(evs)), ["a", "b"])


def ft_version():
    with open(os.path.join(SOURCE, "include/forktop/forktop.h")) as f:
        return re.search(r'#define FT_VERSION "([^"]+)"', f.read()).group(1)


class Streams(ForktopCase):
    def check_start(self, line, argv, pid, before, after):
        ev = json.loads(line)
        self.assertEqual(ev["ev"], "start", line)
        self.assertEqual(ev["version"], ft_version())
        self.assertEqual(ev["argv"], argv)
        self.assertEqual((ev["pid"], ev["t"]), (pid, 0))
        self.assertEqual(ev["hostname"], socket.gethostname())
        self.assertTrue(before <= ev["wall"] <= after, (before, ev["wall"], after))
        self.assertTrue(ev["date"].endswith("Z"))
        self.assertEqual(ev["date"][:19], time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(ev["wall"]))))

    def test_start_event_first(self):
        rec = os.path.join(self.dir, "rec.jsonl")
        for args in (["run", "fork", "--json", "--record", rec], ["--json", "--", "echo", "x\x1b"],
                     ["map", "--json", "--", "true", ":::", "a"]):
            before = time.time()
            p = subprocess.Popen([FORKTOP, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env=self.env)
            out, err = p.communicate(timeout=60)
            after = time.time()
            self.assertEqual(p.returncode, 0, err)
            lines = out.splitlines()
            self.check_start(lines[0], [FORKTOP, *args], p.pid, before, after)
            self.assertEqual([json.loads(l)["ev"] for l in lines].count("start"), 1)
            self.assertEqual(json.loads(lines[-1])["ev"], "summary")
        with open(rec) as f:
            first = f.readline()
        self.assertEqual(json.loads(first)["ev"], "start")
        p = self.run_ft("replay", rec, "--speed", "0", "--json")  # the replay's own, once
        self.assertEqual(p.returncode, 0, p.stderr)
        evs = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertEqual([e["ev"] for e in evs].count("start"), 1)
        self.assertEqual(evs[0]["ev"], "start")

    def test_lines_arrive_while_it_runs(self):
        """Into a pipe, each line leaves when it happens, not at the end."""
        fifo = os.path.join(self.dir, "go")
        os.mkfifo(fifo)
        wl = self.workload("[workload]\nname = waits\n[process waiter]\n"
                           f"run = exec sh -c 'echo ready && read x < {fifo}'\n")
        waiter = ["sh", "-c", f"echo ready; read x < {fifo}"]
        for args in (["run", wl, "--headless"], ["run", wl, "--json"], ["--headless", "--", *waiter],
                     ["--json", "--", *waiter], ["map", "--json", "--", *waiter, ":::", "1"]):
            p = subprocess.Popen([FORKTOP, *args], stdout=subprocess.PIPE, env=self.env)
            try:
                seen, deadline = b"", time.monotonic() + 20
                while b"ready" not in seen and time.monotonic() < deadline:
                    if select.select([p.stdout], [], [], 0.1)[0]:
                        chunk = os.read(p.stdout.fileno(), 65536)
                        if not chunk:
                            break
                        seen += chunk
                self.assertIn(b"ready", seen, f"{args}: no line came while it ran")
                self.assertIsNone(p.poll(), f"{args}: the run ended before its lines came")
            finally:
                def release():  # opening fails (ENXIO) until the waiter reads the FIFO
                    try:
                        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                        return True
                    except OSError:
                        return p.poll() is not None
                wait_for(release, timeout=20)
                p.stdout.read()
                p.stdout.close()
                p.wait(timeout=30)


def strace_execs(d):
    """{pid: argv} of every successful execve strace -ff wrote into d (t.PID)."""
    out = {}
    for f in os.listdir(d):
        if not f.startswith("t."):
            continue
        with open(os.path.join(d, f)) as fh:
            for line in fh:
                m = re.match(r'execve\("[^"]*", \[(.*)\], .*\) = 0$', line.strip())
                if m:
                    out[int(f[2:])] = json.loads("[" + m.group(1) + "]")  # plain words only
    return out


class Argv(ForktopCase):
    @unittest.skipUnless(shutil.which("strace"), "needs strace")
    def test_exec_events_carry_what_strace_saw(self):
        script = "for i in 1 2 3 4 5 6; do sleep 0.2 arg$i & done; env -- sleep 0.2 x-y.z; wait"
        rec = os.path.join(self.dir, "rec.jsonl")
        p = self.run_ft("--json", "--record", rec, "--", "strace", "-ff", "-s", "4096", "-e", "trace=execve",
                        "-o", os.path.join(self.dir, "t"), "sh", "-c", script)
        evs, s = self.json_events(p)
        truth = strace_execs(self.dir)
        self.assertGreaterEqual(len(truth), 8, truth)  # sh, 6 sleeps, env, its sleep
        [root] = self.kinds(evs, "spawn", role="command")
        self.assertEqual(root["argv"][:2], ["strace", "-ff"])  # forktop's own child: what it execs
        execs = [e for e in self.kinds(evs, "exec") if e["pid"] in truth and "argv" in e]
        # the sleeps live 0.2 s: each of their execs is read in time
        sleeps = [e for e in execs if e["argv"][0] == "sleep"]
        self.assertEqual(len(sleeps), 7, execs)
        for e in execs:
            # strace saw the latest execve of the pid; an earlier one (env) is its
            # own exec event, so compare the last exec event of each pid
            last = [x for x in self.kinds(evs, "exec") if x["pid"] == e["pid"]][-1]
            self.assertEqual(last.get("argv"), truth[e["pid"]], e)
        spawns = [e for e in self.kinds(evs, "spawn", role="watched") if "argv" in e]
        self.assertTrue(spawns)
        # the recording replays to the same argv (the decoder keeps them)
        r = self.run_ft("replay", rec, "--speed", "0", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        again = [json.loads(l) for l in r.stdout.splitlines()]
        self.assertEqual([e.get("argv") for e in again if e["ev"] in ("spawn", "exec")],
                         [e.get("argv") for e in evs if e["ev"] in ("spawn", "exec")])

    def test_argv_is_inert_text(self):
        inner = "sleep 0.3; true"  # not the shell's last command: it is not exec'd
        script = f"sh -c '{inner}' \"$1\"; true"
        p = self.run_ft("--json", "--", "sh", "-c", script, "sh", "1\x1b[31m")
        self.assertNotIn("\x1b", p.stdout)
        evs, s = self.json_events(p)
        argvs = [e.get("argv") for e in self.kinds(evs, "exec")]
        self.assertIn(["sh", "-c", script, "sh", "1\x1b[31m"], argvs)  # forktop's own child
        self.assertIn(["sh", "-c", inner, "1\x1b[31m"], argvs)  # a watched one, from /proc
        # headless shows the same, quoted as a shell reads it, the ESC made visible
        p = self.run_ft("--headless", "--", "sh", "-c", script, "sh", "it's\x1b[31m")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("\x1b", p.stdout)
        self.assertRegex(p.stdout, r"exec +sh +pid \d+: sh -c 'sleep 0\.3; true' 'it'\\''s\\x1b\[31m'\n")


def ps_of(pids):
    """{pid: (comm, args)} as ps shows them."""
    if not pids:
        return {}
    out = subprocess.run(["ps", "-o", "pid=,comm=,args=", "-p", ",".join(map(str, pids))],
                         capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        pid, comm, args = line.split(None, 2)
        rows[int(pid)] = (comm, args.strip())
    return rows


class Titles(ForktopCase):
    """Pool workers and processes retitle themselves, as ps shows."""

    def titles_while_running(self, args, expect):
        p = subprocess.Popen([FORKTOP, *args], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=self.env)
        try:
            def seen():
                rows = ps_of([pid for pid in tagged_pids(self.tag) if pid != p.pid])
                got = {v for v in rows.values() if v[1].startswith("forktop: ")}
                return got if got >= expect else None
            got = wait_for(seen, timeout=20)
            self.assertTrue(got, f"never saw {expect}: {ps_of(tagged_pids(self.tag))}")
            return p
        except BaseException:
            p.kill()
            p.wait()
            raise

    def test_pool_workers_and_processes(self):
        expect = {(f"main/{i}", f"forktop: pool main worker {i}") for i in range(12)}
        p = self.titles_while_running(["run", "pool-sleep", "--headless", "-s", "main.workers=12",
                                       "-s", "main.tasks=12", "-s", "main.task=sleep 2s"], expect)
        # pkill -f tells them apart: worker 7 alone dies, and is replaced
        r = subprocess.run(["pkill", "-KILL", "-f", "^forktop: pool main worker 7$"])
        self.assertEqual(r.returncode, 0)
        self.assertEqual(p.wait(timeout=60), 1)  # a worker was killed: something failed
        expect = {("writer", "forktop: process writer"), ("reader", "forktop: process reader")}
        p = self.titles_while_running(["run", "queue", "--headless", "-s",
                                       "writer.run=put q A B C pace=400ms; sleep 100ms"], expect)
        self.assertEqual(p.wait(timeout=60), 0)

    def test_long_pool_name_keeps_the_worker_number_in_comm(self):
        wl = self.workload("[workload]\nname = long\n[pool a-very-long-pool-name]\nworkers = 2\n"
                           "tasks = 2\ntask = sleep 2s\n")
        expect = {("a-very-long-p/0", "forktop: pool a-very-long-pool-name worker 0"),
                  ("a-very-long-p/1", "forktop: pool a-very-long-pool-name worker 1")}
        p = self.titles_while_running(["run", wl, "--headless"], expect)
        self.assertEqual(p.wait(timeout=60), 0)


class Completion(ForktopCase):
    """The bash completion, sourced from the tree, asked as bash would ask it."""

    def complete(self, *words):
        script = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _forktop; '
                  'printf "%s\\n" "${COMPREPLY[@]}"')
        p = subprocess.run(["bash", "-c", script, "bash", os.path.join(SOURCE, "completions/forktop"),
                            FORKTOP, *words], capture_output=True, text=True, env=self.env,
                           cwd=self.dir, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return set(p.stdout.split())

    def test_commands_workloads_and_options(self):
        self.assertEqual(self.complete("r"), {"run", "replay"})
        self.assertEqual(self.complete("help", "ch"), {"check"})
        self.assertEqual(self.complete("cpu"), {"cpu-map"})
        self.assertEqual(self.complete("run", "pool-"), {"pool-map", "pool-sleep"})
        self.assertEqual(self.complete("bench", "cpu-map", "--w"), {"--workers", "--warmup"})
        self.assertEqual(self.complete("run", "--he"), {"--headless", "--help"})
        self.assertIn("--joblog", self.complete("map", "--"))
        self.assertIn("--scan", self.complete("--s"))  # no command yet: watch's too
        open(os.path.join(self.dir, "rec.jsonl"), "w").close()
        self.assertEqual(self.complete("--record", "re"), {"rec.jsonl"})
        self.assertEqual(self.complete("replay", "re"), {"rec.jsonl"})
        self.assertIn(str(os.getpid()), self.complete("-p", str(os.getpid())))
        self.assertEqual(self.complete("run", "-d", ""), set())  # a number: nothing to offer

    def test_every_option_of_every_help_is_offered(self):
        for cmd in COMMANDS:
            help_text = self.run_ft(cmd, "--help").stdout
            opts = set(re.findall(r"(?m)^  (?:(-\w), )?(--[a-z-]+)", help_text))
            offered = self.complete(cmd, "-")
            for short, long in opts:
                self.assertIn(long, offered, cmd)
                if short:
                    self.assertIn(short, offered, cmd)


class ManPage(ForktopCase):
    def page(self):
        with open(os.path.join(SOURCE, "docs/forktop.1")) as f:
            return f.read().replace("\\-", "-").replace("\\fB", "").replace("\\fR", "")

    def test_every_environment_variable_is_documented(self):
        names = set()
        for d in ("src", "ui"):
            for root, _, files in os.walk(os.path.join(SOURCE, d)):
                for f in files:
                    if f.endswith(".c"):
                        with open(os.path.join(root, f)) as fh:
                            names |= set(re.findall(r'getenv\("([A-Z_]+)"\)', fh.read()))
        self.assertIn("NO_COLOR", names)
        env = self.page().split(".SH ENVIRONMENT", 1)[1].split(".SH ", 1)[0]
        for name in names:
            self.assertIn(f".B {name}\n", env, name)

    def test_every_command_and_option_is_documented(self):
        page = self.page()
        commands = page.split(".SH COMMANDS", 1)[1].split(".SH ", 1)[0]
        for cmd in COMMANDS + ["help"]:
            self.assertRegex(commands, rf"\n\.BR? .*\b{cmd}\b", cmd)
        for cmd in COMMANDS:
            for opt in re.findall(r"(?m)^  (?:-\w, )?(--[a-z-]+|-\w)", self.run_ft(cmd, "--help").stdout):
                self.assertIn(opt, page, (cmd, opt))


if __name__ == "__main__":
    main()
