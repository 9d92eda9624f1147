"""`forktop map`: a command pool without a workload file.  Every command
runs once per item with its item as one argument (never shell code), its
PID and exit code are in the stream, the joblog has GNU parallel's columns
and values, the exit status says whether any command failed.

Ground truth comes from outside forktop: files the commands write ($$ and
their exit code), and GNU parallel itself when it is installed.
"""
import os
import re
import select
import shlex
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftcase import FORKTOP, MapCase, main, wait_for  # noqa: E402


class Map(MapCase):
    # 1. seq 100 | map -j 4 --json -- sh -c 'exit $(( {} % 3 ))': 100 tasks,
    # 67 failed with the right codes; each command's $$ and code (written by
    # the command itself) match the stream's PIDs and exit codes; exit 1.
    # Three rounds: a pairing race would show.
    def test_seq_100_mod_3(self):
        for rnd in range(3):
            d = os.path.join(self.dir, "r%d" % rnd)
            os.mkdir(d)
            log = os.path.join(d, "joblog")
            script = "echo $$ $(( {} %% 3 )) > %s/p.{}; exit $(( {} %% 3 ))" % d
            p = self.run_ft("map", "-j", "4", "--json", "--joblog", log, "--", "sh", "-c",
                            script, stdin="".join("%d\n" % i for i in range(1, 101)))
            evs, s = self.json_events(p, expect=1)
            self.assertEqual(s["exit_status"], 1)
            self.assertEqual((s["tasks"], s["tasks_done"], s["tasks_failed"]), (100, 33, 67), s)
            truth = {}
            for i in range(1, 101):
                with open(os.path.join(d, "p.%d" % i)) as f:
                    pid, code = map(int, f.read().split())
                self.assertEqual(code, i % 3)
                truth[pid] = (i, code)
            workers = {e["pid"] for e in self.kinds(evs, "spawn", role="worker")}
            self.assertEqual(len(workers), 4)
            fails = sorted(e.get("code") for e in self.kinds(evs, "task_fail"))
            self.assertEqual(fails, [1] * 34 + [2] * 33)
            self.check_joblog(log, script)
            # every command's own PID in the stream needs the kernel's
            # connector (root): a /proc scan misses what lives a millisecond
            if os.geteuid() != 0:
                continue
            spawns = {e["pid"]: e for e in self.kinds(evs, "spawn", role="watched")}
            exits = {e["pid"]: e for e in self.kinds(evs, "exit")}
            for pid, (item, code) in truth.items():
                self.assertIn(pid, spawns, "round %d: no spawn for item %d" % (rnd, item))
                self.assertIn(spawns[pid]["ppid"], workers)
                self.assertIn(pid, exits, "round %d: no exit for item %d" % (rnd, item))
                self.assertEqual(exits[pid].get("code"), code, exits[pid])

    def check_joblog(self, log, script):
        rows = self.joblog(log)
        self.assertEqual(sorted(int(r[0]) for r in rows), list(range(1, 101)))
        for r in rows:
            item = int(r[0])
            self.assertEqual(r[1], ":")
            self.assertRegex(r[2], r"^\d{10}\.\d{3}$")
            self.assertRegex(r[3], r"^ *\d+\.\d{3}$")
            self.assertEqual(len(r[3]), 10)
            self.assertEqual((r[4], r[5]), ("0", "0"))
            self.assertEqual((int(r[6]), int(r[7])), (item % 3, 0), r)
            argv = ["sh", "-c", script.replace("{}", str(item))]
            self.assertEqual(r[8], shlex.join(argv))

    # 2. exit codes and signals apart, as parallel logs them: a command
    # killed by a signal has Exitval 0 and its signal; exit 137 is 137, 0.
    # The command's own exit is the watch's, all seen with the connector.
    def test_joblog_signals(self):
        if os.geteuid() != 0:
            self.skipTest("the process-event connector needs root")
        log = os.path.join(self.dir, "joblog")
        p = self.run_ft("map", "-j", "2", "--headless", "--joblog", log, "--", "sh", "-c",
                        "if [ {} = 137 ]; then exit 137; fi; kill -{} $$", ":::", "9", "15",
                        "137", "0")
        self.assertEqual(p.returncode, 1, p.stdout[-2000:] + p.stderr)
        got = {int(r[0]): (int(r[6]), int(r[7])) for r in self.joblog(log)}
        self.assertEqual(got, {1: (0, 9), 2: (0, 15), 3: (137, 0), 4: (0, 0)})

    # 2b. Watching by scanning /proc (what forktop does without root) sees
    # few of the commands and no exit code: the joblog holds every job with
    # its right Exitval all the same, from the tasks' own codes.
    def test_joblog_by_scanning(self):
        log = os.path.join(self.dir, "joblog")
        script = "exit $(( {} % 3 ))"
        p = self.run_ft("map", "-j", "4", "--json", "--scan", "--joblog", log, "--", "sh", "-c",
                        script, stdin="".join("%d\n" % i for i in range(1, 101)))
        evs, s = self.json_events(p, expect=1)
        self.assertEqual((s["tasks"], s["tasks_done"], s["tasks_failed"]), (100, 33, 67), s)
        self.check_joblog(log, script)
        p = self.run_ft("map", "-j", "2", "--headless", "--scan", "--joblog", log, "--", "sh",
                        "-c", "sleep 0.3; kill -9 $$", ":::", "a", "b")
        self.assertEqual(p.returncode, 1, p.stdout[-1000:])
        for r in self.joblog(log):
            # seen by a scan or not, a command killed by SIGKILL is 137 or
            # (0, 9), never another job's outcome
            self.assertIn((int(r[6]), int(r[7])), [(137, 0), (0, 9)], r)

    # 3. ::: arguments, and {.} {/} {//} {/.} as GNU parallel reads them.
    def test_placeholders(self):
        items = ["a/b.tar.gz", "c", "d.txt", "/x", ".hidden", "a.b/c", "dir/sub/f.c"]
        cmd = ["sh", "-c", 'echo "$1|$2|$3|$4|$5"', "sh", "{}", "{.}", "{/}", "{//}", "{/.}"]
        p = self.run_ft("map", "-j", "2", "--json", "--", *cmd, ":::", *items)
        evs, s = self.json_events(p)
        got = sorted(self.output_lines(evs))
        want = sorted(["a/b.tar.gz|a/b.tar|b.tar.gz|a|b.tar", "c|c|c|.|c", "d.txt|d|d.txt|.|d",
                       "/x|/x|x|/|x", ".hidden||.hidden|.|", "a.b/c|a.b/c|c|a.b|c",
                       "dir/sub/f.c|dir/sub/f|f.c|dir/sub|f"])
        self.assertEqual(got, want)
        if subprocess.run(["sh", "-c", "command -v parallel"], capture_output=True).returncode:
            return
        # GNU parallel's own reading of the same placeholders
        par = subprocess.run(["parallel", "echo", "{}|{.}|{/}|{//}|{/.}".replace("|", "\\|"),
                              ":::", *items], capture_output=True, text=True, timeout=60)
        self.assertEqual(sorted(par.stdout.splitlines()), want, par.stderr)

    # 3b. {#} is the job's number from 1 (the joblog's Seq), and counts as a
    # placeholder: the item is not appended, as with parallel.
    def test_job_number(self):
        log = os.path.join(self.dir, "joblog")
        p = self.run_ft("map", "-j", "2", "--json", "--joblog", log, "--", "echo", "{#}:{}",
                        ":::", "a", "b", "c")
        evs, s = self.json_events(p)
        self.assertEqual(sorted(self.output_lines(evs)), ["1:a", "2:b", "3:c"])
        self.assertEqual(sorted((r[0], r[8]) for r in self.joblog(log)),
                         [("1", "echo 1:a"), ("2", "echo 2:b"), ("3", "echo 3:c")])
        p = self.run_ft("map", "-j", "2", "--json", "--", "echo", "{#}", ":::", "x", "y")
        evs, s = self.json_events(p)
        self.assertEqual(sorted(self.output_lines(evs)), ["1", "2"])

    # 4. Items holding spaces, quotes, ;, $(...) and backquotes stay one
    # argument, and inside sh -c one literal word, never shell code; with
    # no placeholder the item is the last argument; items of any length.
    def test_items_are_never_shell_code(self):
        d = self.dir
        items = ["a b", "it's", 'say "hi"', "x; touch %s/INJECTED" % d, "$(touch %s/X)" % d,
                 "`touch %s/Y`" % d, "| touch %s/Z" % d, "", "-n", "*", "plain"]
        stdin = "".join(i + "\n" for i in items)
        p = self.run_ft("map", "-j", "3", "--json", "--", "printf", "[%s]\\n", "{}", stdin=stdin)
        evs, s = self.json_events(p)
        self.assertEqual(sorted(self.output_lines(evs)), sorted("[%s]" % i for i in items))
        p = self.run_ft("map", "-j", "3", "--json", "--", "printf", "<%s>\\n", stdin=stdin)
        evs, s = self.json_events(p)
        self.assertEqual(sorted(self.output_lines(evs)), sorted("<%s>" % i for i in items))
        p = self.run_ft("map", "-j", "3", "--json", "--", "sh", "-c",
                        "printf '%%s\\n' {} > %s/out.$$" % d, stdin=stdin)
        self.json_events(p)
        got = []
        for f in os.listdir(d):
            if f.startswith("out."):
                with open(os.path.join(d, f)) as fh:
                    got += fh.read().split("\n")[:-1]
        self.assertEqual(sorted(got), sorted(items))
        for f in ("INJECTED", "X", "Y", "Z"):
            self.assertFalse(os.path.exists(os.path.join(d, f)), f + " was created")
        # -0: NUL-separated items, newlines inside them, the last unterminated
        log = os.path.join(d, "joblog")
        p = self.run_ft("map", "-0", "--json", "--joblog", log, "--", "printf", "<%s>\\n",
                        stdin="a\nb\0c d\0e")
        evs, s = self.json_events(p)
        self.assertEqual(sorted(self.output_lines(evs)), ["<a", "<c d>", "<e>", "b>"])
        self.assertEqual(sorted(r[8] for r in self.joblog(log)),
                         ["printf '<%s>\\n' $'a\\nb'", "printf '<%s>\\n' 'c d'",
                          "printf '<%s>\\n' e"])
        p = self.run_ft("map", "--json", "--", "true", stdin="a\0b\n")
        self.assertEqual(p.returncode, 1)
        self.assertIn("stdin:1: the line holds a NUL byte", p.stderr)
        big = "x" * 100000 + " ;'"
        p = self.run_ft("map", "--json", "--", "sh", "-c", 'printf %s "$1" | wc -c', "sh", "{}",
                        stdin=big + "\n")
        evs, s = self.json_events(p)
        self.assertEqual([line.strip() for line in self.output_lines(evs)], [str(len(big))])

    # 5. The joblog's header and columns are GNU parallel's own.
    def test_joblog_matches_parallel(self):
        if subprocess.run(["sh", "-c", "command -v parallel"], capture_output=True).returncode:
            self.skipTest("GNU parallel is not installed (apt-get install parallel)")
        ours, theirs = os.path.join(self.dir, "ours"), os.path.join(self.dir, "theirs")
        p = self.run_ft("map", "-j", "2", "--headless", "--joblog", ours, "--", "sh", "-c",
                        "exit {}", ":::", "0", "3")
        self.assertEqual(p.returncode, 1, p.stdout[-1000:])
        subprocess.run(["parallel", "-j", "2", "--joblog", theirs, "exit", ":::", "0", "3"],
                       capture_output=True, timeout=60)
        with open(ours) as a, open(theirs) as b:
            la, lb = a.read().splitlines(), b.read().splitlines()
        self.assertEqual(la[0], lb[0])
        self.assertEqual(len(la), len(lb))
        ra = sorted(line.split("\t") for line in la[1:])
        rb = sorted(line.split("\t") for line in lb[1:])
        for x, y in zip(ra, rb):
            self.assertEqual(len(x), len(y))
            # Seq, Host, Send, Receive, Exitval, Signal equal; the times in
            # the same format
            self.assertEqual([x[i] for i in (0, 1, 4, 5, 6, 7)], [y[i] for i in (0, 1, 4, 5, 6, 7)])
            self.assertEqual(re.sub(r"\d", "9", x[2]), re.sub(r"\d", "9", y[2]))
            self.assertEqual(len(x[3]), len(y[3]))

    # 6. An empty stdin runs nothing (no worker either) and exits 0.
    def test_empty_input(self):
        log = os.path.join(self.dir, "joblog")
        p = self.run_ft("map", "-j", "4", "--json", "--joblog", log, "--", "false", stdin="")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertEqual(self.joblog(log), [])
        p = self.run_ft("map", "--headless", "--", "false", ":::")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("spawn", p.stdout)

    # 7. Usage errors exit 2 and say what is wrong; --help says what the
    # exit status means.
    def test_usage(self):
        for args, says in [((), "no command"), (("--",), "no command"),
                           (("-j", "0", "--", "true"), "-j 0"), (("-j", "x", "--", "true"), "-j x"),
                           (("--", ""), "empty"), (("--bogus", "--", "true"), "unknown option"),
                           (("-j",), "needs a value"), (("--joblog",), "needs a value"),
                           (("--", "echo", ":::", "a", ":::", "b"), "one :::"),
                           ((":::", "a"), "no command")]:
            p = self.run_ft("map", *args, stdin="")
            self.assertEqual(p.returncode, 2, (args, p.stdout, p.stderr))
            self.assertIn(says, p.stderr, args)
            self.assertEqual(p.stdout, "", args)
        # options before the word map are map's too
        p = subprocess.run([FORKTOP, "--headless", "map", "--", "true", ":::", "a"],
                           capture_output=True, text=True, env=self.env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("summary: map", p.stdout)
        h = self.run_ft("map", "--help")
        self.assertEqual(h.returncode, 0)
        self.assertIn("exit status", h.stdout)
        self.assertIn("1 a command\nfailed", h.stdout)
        p = self.run_ft("map", "--headless", "--", "sh", "-c", "exit 0", ":::", "a", "b")
        self.assertEqual(p.returncode, 0, p.stdout[-1000:])
        p = self.run_ft("map", "--headless", "--", "no-such-program-here", ":::", "a")
        self.assertEqual(p.returncode, 1)
        self.assertIn("exec no-such-program-here: No such file or directory", p.stdout)

    # 8. Headless and JSON lines reach a pipe while the run goes on, not in
    # one block at its end: the command (a shell builtin: no more events)
    # waits on a FIFO the test opens only once it has read the line saying
    # the task started.
    def test_streams_stream(self):
        for mode, marker in (("--headless", "start "), ("--json", '"task_start"')):
            fifo = os.path.join(self.dir, "go" + mode)
            os.mkfifo(fifo)
            p = self.popen(mode, "--", "sh", "-c", "read x < %s; exit 0" % fifo, ":::", "1",
                           stdout=subprocess.PIPE)
            try:
                seen, deadline = b"", time.monotonic() + 10
                while marker.encode() not in seen and time.monotonic() < deadline:
                    if select.select([p.stdout], [], [], 0.1)[0]:
                        chunk = os.read(p.stdout.fileno(), 65536)
                        if not chunk:
                            break
                        seen += chunk
                self.assertIn(marker.encode(), seen, "%s: no line came while it ran" % mode)
                self.assertIsNone(p.poll(), "%s: the run ended before its lines came" % mode)
            finally:
                # the command ends once the FIFO has had a writer (opening
                # fails with ENXIO until the command has opened it to read)
                def release():
                    try:
                        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                        return True
                    except OSError:
                        return p.poll() is not None
                wait_for(release, timeout=10)
                rest = p.stdout.read().decode()
                p.stdout.close()
                status, _, err = self.finish(p)
            self.assertEqual(status, 0, rest + err)

if __name__ == "__main__":
    main()
