"""Watch mode (`forktop -- CMD`, `forktop -p PID`, `--scan`) tells exactly
the truth: every process once, with its real name, parent and exit.

Ground truth comes from outside forktop: PIDs and exit codes the programs
write to files themselves, `strace -ff`, /proc.  Racy cases run many times.
"""
import collections
import os
import pty
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftcase import FORKTOP, drain_pty, main, wait_for  # noqa: E402
from pidtruth import ROOT, WatchCase  # noqa: E402

POOL = """
import multiprocessing as mp, os, sys
D = sys.argv[1]
def mark():
    open(os.path.join(D, "w.%d" % os.getpid()), "w").close()
def work(x):
    return x * x
if __name__ == "__main__":
    with mp.get_context("fork").Pool(35, initializer=mark) as pool:
        for w in pool._pool:  # every worker, whether or not it ran before the end
            open(os.path.join(D, "p.%d" % w.pid), "w").close()
        print(sum(pool.map(work, range(200), chunksize=1)))
"""  # the with block ends in terminate(), as most scripts do

UNREAPED = """
import os, sys, time
if os.fork() == 0:
    open(os.path.join(sys.argv[1], "child.%d" % os.getpid()), "w").close()
    os._exit(3)
time.sleep(0.5)
"""

REUSE = """
import fcntl, os, sys
def child(code):
    pid = os.fork()
    if pid == 0:
        os._exit(code)
    os.waitpid(pid, 0)
    return pid
a = child(3)
with open("/proc/sys/kernel/ns_last_pid", "r+") as lk:
    for _ in range(50):  # the write and the fork race every fork on the machine
        fcntl.flock(lk, fcntl.LOCK_EX)
        lk.seek(0)
        lk.write(str(a - 1))
        lk.flush()
        pid = os.fork()
        if pid == 0:
            os._exit(4)
        fcntl.flock(lk, fcntl.LOCK_UN)
        os.waitpid(pid, 0)
        if pid == a:
            open(os.path.join(sys.argv[1], "reused"), "w").write(str(a))
            break
"""


class TruthWatch(WatchCase):
    def subdir(self, name):
        d = os.path.join(self.dir, name)
        os.mkdir(d)
        return d

    @staticmethod
    def pids_in(d, prefix):
        return {int(f.split(".")[1]) for f in os.listdir(d) if f.startswith(prefix + ".")}

    # 1. A Pool(35): the interpreter and its 35 workers, each once, each
    # exit seen; nothing else (before: 15-20 phantom workers that never ended).
    def test_pool35_no_phantoms(self):
        for rnd in range(20):
            d = self.subdir("r%d" % rnd)
            evs, s = self.watch("--", sys.executable, "-c", POOL, d)
            what = "round %d" % rnd
            exits = self.assert_once(evs, what)
            cmd = [e["pid"] for e in evs if e["ev"] == "spawn" and e["role"] == "command"]
            workers = self.pids_in(d, "p")
            self.assertEqual(len(workers), 35, what)
            self.assertLessEqual(self.pids_in(d, "w"), workers, what)
            spawned = {e["pid"] for e in evs if e["ev"] == "spawn"}
            self.assertEqual(spawned - workers - set(cmd), set(), what + ": phantoms")
            if s["mode"] == "connector":
                self.assertEqual(spawned, workers | set(cmd), what)
                self.assertEqual(set(exits), spawned, what + ": exits not seen")
                self.assertEqual(s["unknown"], 0, what)
            self.assertEqual(s["processes"], len(spawned), (what, s))
            self.assertEqual(s["exited"], len(exits), (what, s))
            self.assertIn("2646700", [e["line"] for e in evs if e["ev"] == "output"])

    # 2. A child that exits unreaped is one process that failed, a zombie of
    # its parent (before: 3 processes, 2 failed).
    def test_unreaped_child_is_one_process(self):
        modes = [[], ["--scan"]] if ROOT else [["--scan"]]
        for rnd in range(4):
            for m in modes:
                d = self.subdir("u%d%s" % (rnd, "s" if m else ""))
                evs, s = self.watch(*m, "--", sys.executable, "-c", UNREAPED, d)
                what = "round %d %s" % (rnd, m)
                exits = self.assert_once(evs, what)
                (child,) = self.pids_in(d, "child")
                self.assertEqual(exits[child].get("code"), 3, (what, exits[child]))
                self.assertEqual((s["processes"], s["exited"], s["failed"]), (2, 2, 1), (what, s))
                self.assertIn(child, [e["pid"] for e in evs if e["ev"] == "zombie"], what)

    # What the command leaves behind is killed at the end, and a zombie of
    # it whose exit was told already is not told again as it is reaped.
    def test_leftover_with_a_zombie_is_told_once(self):
        d = self.dir
        cmd = "%s -c '%s' %s & sleep 0.2; exit 0" % (sys.executable, UNREAPED.replace(
            "time.sleep(0.5)", "time.sleep(100)"), d)
        evs, s = self.watch("--", "sh", "-c", cmd)
        exits = self.assert_once(evs, "leftover")
        (child,) = self.pids_in(d, "child")
        self.assertEqual(exits[child].get("code"), 3, exits[child])
        self.assertEqual(s["processes"], s["exited"], s)
        killed = [e for e in exits.values() if e.get("signal") == "SIGKILL"]
        self.assertEqual(len(killed), 1, exits)

    # A pid freed and at once given to the tree's next process (as a test
    # writing ns_last_pid, or a busy machine, makes it): two processes, each
    # spawned and exited once with its own code, and the kernel's record
    # agrees (before: assert_once took them for one told twice).
    @unittest.skipUnless(ROOT and os.path.exists("/proc/sys/kernel/ns_last_pid"),
                         "needs root (ns_last_pid, the connector)")
    def test_reused_pid_is_two_processes(self):
        for rnd in range(3):
            d = self.subdir("p%d" % rnd)
            evs, s = self.watch("--", sys.executable, "-c", REUSE, d)
            if not os.path.exists(os.path.join(d, "reused")):
                continue  # every try lost its race with another fork on the machine
            with open(os.path.join(d, "reused")) as f:
                pid = int(f.read())
            what = "round %d pid %d" % (rnd, pid)
            self.assertIsNotNone(self.truth, what + ": the kernel's record lost messages")
            self.assertEqual(self.truth[0][pid], 2, what)
            self.assert_once(evs, what)
            told = [(e["ev"], e.get("code")) for e in evs if e.get("pid") == pid and e["ev"] in ("spawn", "exit")]
            self.assertEqual(told, [("spawn", None), ("exit", 3), ("spawn", None), ("exit", 4)], what)
            ends = [e for e in evs if e["ev"] == "exit"]
            self.assertEqual((s["processes"], s["exited"], s["unknown"]), (len(ends), len(ends), 0),
                             (what, s))
            return
        self.skipTest("the pid could not be given again")

    # 3. make -j2 over 200 C files: every command's exits counted as strace
    # counts them (before: 2-11 % of `as` were named `gcc`).
    @staticmethod
    def strace_truth(d):
        """[(name, code)] a process, from strace -ff -A files: the last exec
        names it.  A pid reused within the run appends its second process
        to the first's file (-A: without it, strace truncates the file, and
        the first process is lost)."""
        out = []
        for f in os.listdir(d):
            if not f.startswith("t."):
                continue
            name = None
            with open(os.path.join(d, f)) as fh:
                lines = fh.readlines()
            for line in lines:
                if line.startswith("execve(") and line.rstrip().endswith("= 0"):
                    name = os.path.basename(line.split('"')[1])[:15]
                elif line.startswith("+++ exited with "):
                    out.append((name, int(line.split()[3])))
                    name = None
                elif line.startswith("+++ killed by "):
                    out.append((name, line.split()[3]))
                    name = None
        return out

    @unittest.skipUnless(ROOT, "the process-event connector needs root")
    def test_make_names_and_exits_match_strace(self):
        src = self.subdir("src")
        for i in range(200):
            with open(os.path.join(src, "f%d.c" % i), "w") as f:
                f.write("int f%d(int x) { return x * %d; }\n" % (i, i))
        with open(os.path.join(src, "Makefile"), "w") as f:
            f.write("all: $(patsubst %.c,%.o,$(wildcard *.c))\n%.o: %.c\n\tgcc -c $< -o $@\n")
        st = self.subdir("strace")
        subprocess.run(["strace", "-ff", "-A", "-q", "-e", "trace=execve,exit_group", "-o",
                        os.path.join(st, "t"), "make", "-s", "-B", "-j2", "-C", src],
                       check=True, env=self.env, timeout=120, capture_output=True)
        truth = self.strace_truth(st)
        self.assertTrue(all(n for n, _ in truth), "a process that never exec'd")
        want = collections.Counter(truth)
        self.assertEqual(want[("as", 0)], 200)
        for rnd in range(2):
            evs, s = self.watch("--", "make", "-s", "-B", "-j2", "-C", src, timeout=120)
            self.assertEqual(s["mode"], "connector")
            exits = self.assert_once(evs, "round %d" % rnd)
            got = collections.Counter((e["name"], e.get("code", e.get("signal")))
                                      for e in evs if e["ev"] == "exit")  # a reused pid's both
            self.assertEqual(got, want, ("round %d" % rnd, "told, not true:", got - want,
                                         "true, not told:", want - got, s))
            self.assertEqual((s["processes"], s["exited"], s["unknown"]), (len(truth),) * 2 + (0,), s)
            # a real lifetime for every one, never 0.0
            self.assertEqual([e for e in evs if e["ev"] == "exit" and not e["runtime"] > 0], [])

    # The command's own later execs are told, and its exit has its last
    # name (dash runs `sh -c 'CMD'`'s last command by exec).
    @unittest.skipUnless(ROOT, "the process-event connector needs root")
    def test_command_exec_names_its_exit(self):
        evs, s = self.watch("--", "sh", "-c", "exec sleep 0.1")
        self.assertEqual([e["path"] for e in evs if e["ev"] == "exec"], ["sh", "sleep"])
        self.assertEqual([e["name"] for e in evs if e["ev"] == "exit"], ["sleep"])

    # 4. xargs fed on stdin: 200 children, every exit code right (before:
    # stdin was /dev/null and xargs ran one child).
    def test_xargs_on_stdin_every_exit_code(self):
        d = self.dir
        script = "c=$(( $0 %% 4 )); echo $$ $c > %s/x.$0; exit $c" % d  # $0: one file each
        evs, s = self.watch("--", "xargs", "-P4", "-n1", "sh", "-c", script, expect=123,
                            stdin="".join("%d\n" % i for i in range(200)))
        truth = []  # (pid, code): a pid reused within the run is two
        for i in self.pids_in(d, "x"):
            with open(os.path.join(d, "x.%d" % i)) as f:
                truth.append(tuple(int(v) for v in f.read().split()))
        self.assertEqual(len(truth), 200)
        self.assertEqual(sorted(collections.Counter(c for _, c in truth).values()), [50] * 4)
        exits = self.assert_once(evs, "xargs")
        if s["mode"] == "connector":
            pids = {p for p, _ in truth}
            self.assertEqual(collections.Counter((e["pid"], e.get("code")) for e in evs
                                                 if e["ev"] == "exit" and e["pid"] in pids),
                             collections.Counter(truth))
            self.assertEqual((s["processes"], s["failed"], s["unknown"]), (201, 151, 0), s)
        p = self.run_ft("--headless", "--", "cat", stdin="hi there\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("| hi there", p.stdout)

    # 5. --scan: what is alive at the last scan still gets its exit.
    def test_scan_mode_every_process_exits(self):
        for rnd in range(3):
            d = self.subdir("s%d" % rnd)
            cmd = ("sh -c 'echo $$ > %s/p.a; exec sleep 0.3'; sh -c 'echo $$ > %s/p.b; exec sleep 0.25';"
                   " exit 2" % (d, d))
            evs, s = self.watch("--scan", "--", "sh", "-c", cmd, expect=2)
            exits = self.assert_once(evs, "round %d" % rnd)
            spawned = {e["pid"] for e in evs if e["ev"] == "spawn"}
            truth = set()
            for f in os.listdir(d):
                with open(os.path.join(d, f)) as fh:
                    truth.add(int(fh.read()))
            self.assertLessEqual(truth, spawned, "round %d" % rnd)
            self.assertEqual(set(exits), spawned, "round %d: no exit for some" % rnd)
            self.assertEqual(s["processes"], s["exited"], s)
            for pid in truth:
                self.assertGreater(exits[pid]["runtime"], 0.2, exits[pid])

    # 6. -p: the watched root is in the tree with its real age, its exit
    # status is told (5, not 0), forktop ends with it and does not spin.
    def start_tree(self, d, live=1.0):
        tree = subprocess.Popen(["sh", "-c", "echo $$ > %s/root; sleep 0.2 & sleep %s; exit 5" % (d, live)],
                                env=self.env)
        self.assertTrue(wait_for(lambda: len(self.children(tree.pid)) == 2), "the tree never forked")
        return tree

    @staticmethod
    def children(pid):
        try:
            return open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
        except OSError:
            return []

    def test_attach_root_status_and_age(self):
        tree = self.start_tree(self.dir)
        try:
            time.sleep(0.3)  # the root has lived a while before forktop looks
            evs, s = self.watch("-p", str(tree.pid), expect=5 if ROOT else 0, timeout=20)
        finally:
            tree.wait()
        exits = self.assert_once(evs, "-p")
        spawns = [e for e in evs if e["ev"] == "spawn"]
        self.assertEqual(spawns[0]["pid"], tree.pid)
        self.assertEqual(spawns[0]["ppid"], os.getpid())
        self.assertGreater(exits[tree.pid]["runtime"], 0.9)  # from its start, not forktop's
        if ROOT:
            self.assertEqual(exits[tree.pid]["code"], 5)
            self.assertEqual(s["exit_status"], 5)
        else:
            self.assertEqual(exits[tree.pid]["code"], -1)  # unknown, never a made-up 0
            self.assertIsNone(s["exit_status"])

    def cpu_seconds(self, pid):
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    def test_attach_dashboard_idle_after_root_exits_and_refuses_signals(self):
        tree = self.start_tree(self.dir, live=1.5)
        pid, fd = pty.fork()
        if pid == 0:
            os.environ.update(self.env, TERM="xterm", COLUMNS="100", LINES="30")
            os.execv(FORKTOP, [FORKTOP, "-p", str(tree.pid)])
        screen, stop_drain = drain_pty(fd)
        try:
            self.assertTrue(wait_for(lambda: b"Signal" in screen or b"Quit" in screen, timeout=10),
                            "the dashboard never drew")
            os.write(fd, b"k")
            time.sleep(0.2)
            os.write(fd, b"\r")  # with the old code: the signal menu's first entry
            self.assertTrue(wait_for(lambda: b"read-only" in screen, timeout=5), "k was not refused")
            self.assertEqual(tree.wait(timeout=10), 5)  # not signalled: it ended on its own
            time.sleep(0.3)  # forktop has seen it end
            c0, t0 = self.cpu_seconds(pid), time.monotonic()
            time.sleep(1.0)
            used = (self.cpu_seconds(pid) - c0) / (time.monotonic() - t0)
            self.assertLess(used, 0.2, "forktop spins after the watched root exited")
            self.assertTrue(wait_for(lambda: b"finished" in screen, timeout=5), "no final state shown")
            os.write(fd, b"q")
            _, status = os.waitpid(pid, 0)
            self.assertEqual(os.waitstatus_to_exitcode(status), 5 if ROOT else 0)
        finally:
            stop_drain()
            if tree.poll() is None:
                tree.kill()
                tree.wait()
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
            os.close(fd)

    # 7. When forktop dies, the watched command gets SIGHUP, as from a
    # terminal that closes.
    def test_command_gets_sighup_when_forktop_dies(self):
        d = self.dir
        # The whole tree is hung up, the sleeps too: one in the foreground
        # dying of SIGHUP would have sh say "Hangup" on its stderr, a pipe
        # to the dead forktop, and die of SIGPIPE before its trap runs.  A
        # background one's death may be reported too (strace of a failing
        # run: the kernel's SIGHUP, the sleep killed, then sh's own
        # SIGPIPE), so sh's stderr goes to /dev/null: the hangup is what
        # is tested, not what a shell writes to a pipe whose reader died.
        cmd = ("exec 2>/dev/null; trap 'echo hup > %s/hup; exit 0' HUP; echo ready > %s/ready; "
               "while :; do sleep 0.05 & wait $!; done" % (d, d))
        p = subprocess.Popen([FORKTOP, "--json", "--", "sh", "-c", cmd], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=self.env)
        try:
            self.assertTrue(wait_for(lambda: os.path.exists(d + "/ready"), timeout=10), "never ready")
            p.kill()
            p.wait()
            self.assertTrue(wait_for(lambda: os.path.exists(d + "/hup"), timeout=2), "no SIGHUP")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()


if __name__ == "__main__":
    main()
