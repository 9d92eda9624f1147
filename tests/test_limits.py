"""No silent caps: forktop raises its soft open-file limit to the hard one,
says plainly (name and value) which limit stopped work from starting, with
a non-zero exit, and takes pools past the old fixed maxima (4,096 workers,
1,000,000 items).

Limits are set for forktop alone (setrlimit in preexec_fn, prlimit, setpriv
to drop to an unprivileged user), never for the machine.  Ground truth for
how many workers started comes from /proc (the children of forktop).
"""
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftcase import FORKTOP, ForktopCase, main, wait_for  # noqa: E402


def children(pid):
    """The pids of pid's children, from /proc (not from forktop)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def soft_nofile(soft):
    """preexec_fn: a low soft open-file limit under a higher hard one."""
    def set_it():
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return set_it


def nofile(n):
    """preexec_fn: soft and hard open-file limits both n."""
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))


CAN_DROP = os.geteuid() == 0 and shutil.which("setpriv") is not None


class Limits(ForktopCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        super().tearDown()
        self.tmp.cleanup()

    def workload(self, text, name="w.ini"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    # 1. the soft limit is raised to the hard one at start: a pool bigger
    # than a soft limit of 64 descriptors allows starts every worker.
    def test_soft_open_file_limit_raised(self):
        if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < 2048:
            self.skipTest("the hard open-file limit is below 2048")
        wl = self.workload("[workload]\nname = wide\n[pool p]\nworkers = 200\nitems = 200\n"
                           "chunksize = 1\ntask = sleep 1500ms\n")
        p = subprocess.Popen([FORKTOP, "run", wl, "--json"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=self.env,
                             preexec_fn=soft_nofile(64))
        try:
            # the truth from /proc: 200 worker processes at once
            most = [0]

            def all_up():
                most[0] = max(most[0], len(children(p.pid)))
                return most[0] >= 200 or p.poll() is not None
            wait_for(all_up, timeout=20)
            out, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        self.assertEqual(most[0], 200, "workers alive at once (from /proc)")
        evs, s = self.json_events(subprocess.CompletedProcess(p.args, p.returncode, out, err))
        self.assertNotIn("error", s)
        self.assertEqual(len(self.kinds(evs, "spawn", role="worker")), 200)
        self.assertEqual(s["tasks_done"], 200)

    # 2. a limit that stops work from starting is said at once, with its
    # name and value, in the JSON (an error event, the summary), the
    # headless output and the dashboard's header; the exit status is 1.
    SHORT = "[workload]\nname = short\n[pool p]\nworkers = 200\nitems = 40\nchunksize = 1\n" \
            "task = sleep 400ms\n"

    def started_under_limit(self, wl, preexec_fn=None, prefix=()):
        """Run wl --json under a limit; the events, the summary, and how many
        workers /proc saw alive at once."""
        p = subprocess.Popen([*prefix, FORKTOP, "run", wl, "--json"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=self.env,
                             preexec_fn=preexec_fn)
        most = [0]
        try:
            ft = [None]

            def sample():
                if ft[0] is None:  # forktop itself, below setpriv/prlimit when those exec
                    ft[0] = p.pid
                most[0] = max(most[0], len(children(ft[0])))
                return p.poll() is not None
            wait_for(sample, timeout=30, step=0.005)
            out, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        evs, s = self.json_events(subprocess.CompletedProcess(p.args, p.returncode, out, err), 1)
        return evs, s, most[0]

    def test_open_file_limit_named(self):
        wl = self.workload(self.SHORT)
        evs, s, alive = self.started_under_limit(wl, preexec_fn=nofile(64))
        m = re.fullmatch(r"pool p: started (\d+) of 200 workers: open-file limit 64 \(ulimit -n\)",
                         s.get("error", ""))
        self.assertTrue(m, s)
        n = int(m.group(1))
        # the count said is what /proc saw at the start; retries may add a few later
        self.assertLessEqual(n, alive)
        self.assertLess(alive, 200)
        self.assertEqual(s["not_started"], 200 - n)
        self.assertEqual(s["exit_status"], 1)
        # at once: an error event naming the limit before any task is submitted
        said = [i for i, e in enumerate(evs) if e["ev"] == "error" and e["error"] == "EMFILE"
                and e["what"] == f"start more than {n} of 200 workers: open-file limit 64 (ulimit -n)"]
        self.assertTrue(said, [e for e in evs if e["ev"] == "error"])
        first_submit = min(i for i, e in enumerate(evs) if e["ev"] == "submit")
        self.assertLess(said[0], first_submit)
        # one line says the first failed fork, not one per worker
        self.assertEqual(len([e for e in evs if e["ev"] == "error"]), 2)
        h = self.run_ft("run", wl, "--headless", preexec_fn=nofile(64))
        self.assertEqual(h.returncode, 1, h.stdout[-500:])
        self.assertRegex(h.stdout, r"ERROR +p +cannot start more than \d+ of 200 workers: "
                                   r"open-file limit 64 \(ulimit -n\)")
        self.assertRegex(h.stdout, r"did not run as asked: pool p: started \d+ of 200 workers: "
                                   r"open-file limit 64 \(ulimit -n\)")

    @unittest.skipUnless(CAN_DROP, "needs root to drop to nobody (RLIMIT_NPROC binds no root)")
    def test_process_limit_named(self):
        # each part asks for fewer than the limit (more is refused when
        # parsed, test 3), together they ask for more: fork fails (EAGAIN)
        os.chmod(self.dir, 0o755)
        wl = self.workload("[workload]\nname = short\n[pool p]\nworkers = 25\nitems = 25\n"
                           "chunksize = 1\ntask = sleep 400ms\n[process h]\ncount = 25\n"
                           "run = sleep 400ms\n")
        os.chmod(wl, 0o644)
        drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "prlimit"]
        evs, s, alive = self.started_under_limit(wl, prefix=drop + ["--nproc=30"])
        self.assertRegex(s.get("error", ""), r"^(pool p: started \d+ of 25 workers|"
                                             r"process h: started \d+ of 25): "
                                             r"process limit 30 \(ulimit -u\)$")
        self.assertLess(alive, 30)
        self.assertIn("EAGAIN", [e["error"] for e in evs if e["ev"] == "error"])
        # not even one worker: the pool cannot start, said the same way
        wl = self.workload("[workload]\nname = one\n[pool p]\nworkers = 1\nitems = 1\n"
                           "task = sleep 0\n", name="one.ini")
        os.chmod(wl, 0o644)
        evs, s, _ = self.started_under_limit(wl, prefix=drop + ["--nproc=1"])
        self.assertEqual(s.get("error"), "pool p: started 0 of 1 workers: process limit 1 (ulimit -u)")
        self.assertEqual(s["not_started"], 1)

    @unittest.skipUnless(shutil.which("tmux"), "needs tmux")
    def test_limit_in_dashboard_header(self):
        wl = self.workload(self.SHORT.replace("400ms", "3s"))
        sock = "ftlimits-%d" % os.getpid()
        tm = ["tmux", "-L", sock, "-f", "/dev/null"]
        cmd = "prlimit --nofile=64 %s run %s; sleep 30" % (FORKTOP, wl)
        subprocess.run([*tm, "new-session", "-d", "-x", "230", "-y", "40",
                        "-e", "FORKTOP_TEST_TAG=" + self.env["FORKTOP_TEST_TAG"], cmd],
                       check=True, env=self.env, timeout=10)
        try:
            screen = [""]

            def shown():
                screen[0] = subprocess.run([*tm, "capture-pane", "-p"], capture_output=True,
                                           text=True, timeout=10).stdout
                return "NOT AS ASKED" in screen[0]
            self.assertTrue(wait_for(shown, timeout=15), screen[0])
            # the header says it whole: the limit and its value
            head = screen[0].splitlines()[0]
            self.assertRegex(head, r"NOT AS ASKED: pool p: started \d+ of 200 workers: "
                                   r"open-file limit 64 \(ulimit -n\)")
        finally:
            subprocess.run([*tm, "kill-server"], capture_output=True, timeout=10)

    def test_memory_limit_named(self):
        # an address-space limit too small for the pool's shared memory
        # (result rings and argument windows for 4,000 workers): said with
        # its value, at once and in the summary, and the exit status is 1
        wl = self.workload("[workload]\nname = mem\n[pool p]\nworkers = 4000\nitems = 10\n"
                           "task = sleep 0\n")
        limit = lambda: resource.setrlimit(resource.RLIMIT_AS, (150 << 20, 150 << 20))  # noqa: E731
        p = self.run_ft("run", wl, "--json", preexec_fn=limit)
        if "AddressSanitizer" in p.stderr:
            self.skipTest("an AddressSanitizer build cannot start under ulimit -v")
        evs, s = self.json_events(p, 1)
        if s.get("not_started", 0) == 0:
            self.skipTest("4,000 workers now fit in 150 MiB of address space")
        cause = "out of memory: address-space limit 150 MiB (ulimit -v)"
        self.assertRegex(s.get("error", ""), r"^pool p: started (\d+) of 4000 workers: " +
                         re.escape(cause) + "$")
        # at once, as an error event: the pool could not start (the run stops
        # there), or started fewer workers, naming the limit
        self.assertTrue([e for e in evs if e["ev"] == "error" and e["error"] == "ENOMEM" and
                         (e["what"] == "start the pool" or cause in e["what"])], evs)
        self.assertEqual(s["not_started"], 4000 - int(re.search(r"started (\d+)", s["error"])[1]))
        h = self.run_ft("run", wl, "--headless", preexec_fn=limit)
        self.assertEqual(h.returncode, 1, h.stderr)
        self.assertIn("did not run as asked: pool p: started", h.stdout + h.stderr)
        self.assertIn(cause, h.stdout + h.stderr)

    # 3. no fixed maxima of workers (was 4,096) or items (was 1,000,000);
    # an absurd number is still refused, saying which limit it passes.
    def test_two_million_items(self):
        wl = self.workload("[workload]\nname = many\n[pool p]\nworkers = 2\nsubmit = map\n"
                           "items = 2000000\ntask = sleep 0\n")
        t = time.monotonic()
        h = self.run_ft("run", wl, "--headless", timeout=120)
        self.assertEqual(h.returncode, 0, h.stderr + h.stdout[-500:])
        self.assertIn("2000000 tasks (2000000 done, 0 failed)", h.stdout.splitlines()[-1])
        self.assertLess(time.monotonic() - t, 60)

    def test_five_thousand_workers_accepted(self):
        # accepted when parsed; 24 descriptors let only a few start (a test
        # must not start 5,000 processes on 2 cores), which is said plainly
        wl = self.workload("[workload]\nname = wide\n[pool p]\nworkers = 5000\nitems = 10\n"
                           "task = sleep 0\n")
        p = self.run_ft("run", wl, "--json", preexec_fn=nofile(24))
        evs, s = self.json_events(p, 1)
        self.assertRegex(s.get("error", ""),
                         r"^pool p: started \d+ of 5000 workers: open-file limit 24 \(ulimit -n\)$")
        self.assertEqual(s["tasks_done"], 10)

    def test_map_and_bench_past_4096_workers(self):
        # map -j and bench --workers stopped at 4,096: now a size past what
        # the machine allows runs, and the limit that stops it is named
        items = "".join(f"{i}\n" for i in range(20))
        p = self.run_ft("map", "-j", "5000", "--headless", "--", "true", "{}", stdin=items)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("20 tasks (20 done, 0 failed)", p.stdout)
        items = "".join(f"{i}\n" for i in range(300))
        p = self.run_ft("map", "-j", "5000", "--headless", "--", "true", "{}", stdin=items,
                        preexec_fn=nofile(24))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertRegex(p.stdout + p.stderr, r"did not run as asked: pool map: started \d+ of 300 "
                                              r"workers: open-file limit 24 \(ulimit -n\)")
        wl = self.workload("[workload]\nname = b\n[pool p]\nitems = 10\ntask = sleep 0\n")
        p = self.run_ft("bench", wl, "--workers", "5000", "--runs", "1", "--warmup", "0",
                        preexec_fn=nofile(24))
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertRegex(p.stderr, r"forktop bench: 5000 workers: pool p: started \d+ of 5000 "
                                   r"workers: open-file limit 24 \(ulimit -n\)")
        self.assertIn("5000 workers, run 1:", p.stdout)

    @unittest.skipUnless(CAN_DROP, "needs root to drop to nobody (RLIMIT_NPROC binds no root)")
    def test_map_and_bench_past_process_limit_refused(self):
        drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "prlimit",
                "--nproc=100"]
        os.chmod(self.dir, 0o755)
        wl = self.workload("[workload]\nname = b\n[pool p]\nitems = 10\ntask = sleep 0\n")
        os.chmod(wl, 0o644)
        for args, what in ((["map", "-j", "5000", "--", "true", "{}"], "forktop map: -j 5000: "),
                           (["bench", wl, "--workers", "1,5000"], "--workers: ")):
            p = subprocess.run([*drop, FORKTOP, *args], capture_output=True, text=True,
                               env=self.env, timeout=30, input="1\n")
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(what + "5000 is more than the process limit 100 allows (ulimit -u)",
                          p.stderr)
            self.assertEqual(p.stdout, "")  # nothing ran

    @unittest.skipUnless(CAN_DROP, "needs root to drop to nobody (RLIMIT_NPROC binds no root)")
    def test_workers_past_process_limit_refused(self):
        os.chmod(self.dir, 0o755)
        wl = self.workload("[workload]\nname = wide\n[pool p]\nworkers = 5000\nitems = 10\n"
                           "task = sleep 0\n")
        os.chmod(wl, 0o644)
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            "prlimit", "--nproc=100", FORKTOP, "run", wl, "--json"],
                           capture_output=True, text=True, env=self.env, timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("w.ini:4: workers: 5000 is more than the process limit 100 allows (ulimit -u)",
                      p.stderr)
        self.assertEqual(p.stdout, "")  # nothing started

    # 4. no cap on tasks running at once: the slot ring of chunks in flight
    # (was a fixed 1,024 whatever the workers) grows with the pool, so
    # 1,100 workers run 1,100 tasks all at once, in one round.  Each task
    # reads one byte from a FIFO the test holds open, and the bytes are
    # written only once every task has started: a cap would leave tasks
    # unstarted and the run would hang (the timeout fails it).  A fixed
    # sleep instead (1 s) failed under ASan, where 1,100 workers take
    # longer than that to start.
    def test_more_than_1024_tasks_at_once(self):
        n = 1100
        if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < 8 * n:
            self.skipTest("the hard open-file limit is below %d" % (8 * n))
        nproc = resource.getrlimit(resource.RLIMIT_NPROC)[0]
        if os.geteuid() != 0 and nproc != resource.RLIM_INFINITY and nproc < 4 * n:
            self.skipTest("the process limit is below %d" % (4 * n))
        fifo = os.path.join(self.dir, "gate")
        os.mkfifo(fifo)
        gate = os.open(fifo, os.O_RDWR | os.O_CLOEXEC)  # a writer from the start: no open blocks
        try:
            wl = self.workload("[workload]\nname = wide\n[pool p]\nworkers = %d\nitems = %d\n"
                               "chunksize = 1\ntask = exec dd if=%s of=/dev/null bs=1 count=1 "
                               "status=none\n" % (n, n, fifo))
            p = subprocess.Popen([FORKTOP, "run", wl, "--json"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=self.env)
            lines, started = [], 0
            watchdog = threading.Timer(120, p.kill)  # tasks held back for good: fail, not hang
            watchdog.start()
            try:
                for line in p.stdout:
                    lines.append(line)
                    started += '"ev":"task_start"' in line
                    if started == n:
                        os.write(gate, b"x" * n)  # every task started: each may now end
                        started += 1
                p.wait(timeout=60)
            finally:
                watchdog.cancel()
                if p.poll() is None:
                    p.kill()
                    p.wait()
                err = p.stderr.read()
                p.stdout.close()
                p.stderr.close()
        finally:
            os.close(gate)
        evs, s = self.json_events(subprocess.CompletedProcess(p.args, p.returncode,
                                                              "".join(lines), err))
        self.assertNotIn("error", s)
        self.assertEqual(s["tasks_done"], n)
        # every task began before the first one ended: none waited for a slot
        ran = [e["ev"] for e in evs if e["ev"] in ("task_start", "task_done")]
        self.assertEqual(ran.index("task_done"), n, "tasks started before the first ended")
        self.assertEqual(len({e["worker"] for e in self.kinds(evs, "task_start")}), n)

    def test_absurd_item_counts_refused(self):
        wl = self.workload("[workload]\nname = huge\n[pool p]\nitems = 1\ntask = sleep 0\n")
        p = self.run_ft("run", wl, "-s", "p.items=4294967296")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("items: 4294967296 is more items than a pool takes (4294967295", p.stderr)
        # under the memory there is: ulimit -v 1 GiB
        p = self.run_ft("run", wl, "-s", "p.items=100000000", preexec_fn=lambda: resource.setrlimit(
            resource.RLIMIT_AS, (1 << 30, 1 << 30)))
        if "AddressSanitizer" in p.stderr and "ulimit -v" in p.stderr:
            self.skipTest("an AddressSanitizer build cannot start under ulimit -v")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertRegex(p.stderr, r"items: 100000000 items need about \d+ MiB, more than the "
                                   r"address-space limit \(ulimit -v\) \(1024 MiB\)")


if __name__ == "__main__":
    main()
