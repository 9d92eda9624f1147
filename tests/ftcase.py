"""Shared ground for the program's Python tests: every run is tagged through
its environment, and after each test no tagged process may be alive and the
test process holds no descriptor it did not hold before (nothing left
behind).  Also ways to wait by polling instead of sleeping.

A test file imports this, subclasses ForktopCase (or MapCase, for `forktop
map`), and is run by ctest as `python3 tests/test_X.py FORKTOP_BINARY
WORKLOADS_DIR`.
"""
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

FORKTOP = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build/forktop"
WORKLOADS = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else "workloads"
TIMEOUT = 60


def tagged_pids(tag):
    """Every live process whose environment holds tag ("NAME=value")."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/environ", "rb") as f:
                if tag.encode() in f.read().split(b"\0"):
                    pids.append(int(d))
        except OSError:
            pass
    return pids


def comm_of(pid):
    """A live process's name, or None."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def kill_quietly(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def lines_of(path):
    """A file's lines, or [] where there is no file."""
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def open_fds():
    """The descriptors this process holds now."""
    return set(os.listdir("/proc/self/fd"))


def wait_for(pred, timeout=10.0, step=0.01):
    """Poll pred() until it is true (returns its value) or timeout (returns it false)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


class ForktopCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()  # self.dir: the test's own, removed after it
        self.dir = self.tmp.name
        self.tag = "FORKTOP_TEST_TAG=" + uuid.uuid4().hex
        self.env = dict(os.environ, FORKTOP_TEST_TAG=self.tag.split("=", 1)[1],
                        FORKTOP_WORKLOADS=WORKLOADS)
        self.fds_before = open_fds()

    def tearDown(self):
        left = wait_for(lambda: not tagged_pids(self.tag), timeout=5) or tagged_pids(self.tag)
        left = [] if left is True else left
        # Kill what was left, a run's guardian last: once the run's other
        # processes are gone it removes the run's cgroup and exits itself.
        guards = [pid for pid in left if comm_of(pid) == "forktop-guard"]
        for pid in [pid for pid in left if pid not in guards]:
            kill_quietly(pid)
        wait_for(lambda: not any(os.path.exists(f"/proc/{pid}") and comm_of(pid) for pid in guards),
                 timeout=3)
        for pid in guards:
            kill_quietly(pid)
        self.assertEqual(left, [], "processes left behind")
        extra = wait_for(lambda: not (open_fds() - self.fds_before), timeout=2) or \
            (open_fds() - self.fds_before)
        self.assertTrue(extra is True, f"descriptors left open: {extra}")
        self.tmp.cleanup()

    def workload(self, text, name="w.ini"):
        """Write a workload file into the test's directory; its path."""
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run_ft(self, *args, stdin=None, timeout=TIMEOUT, **kw):
        return subprocess.run([FORKTOP, *args], capture_output=True, text=True, env=self.env,
                              input=stdin, timeout=timeout, **kw)

    def json_events(self, p, expect=0):
        """The events and the summary of a finished --json run."""
        self.assertEqual(p.returncode, expect, p.stderr + p.stdout[-2000:])
        evs = [json.loads(line) for line in p.stdout.splitlines()]
        self.assertTrue(evs, "no events")
        self.assertEqual(evs[0]["ev"], "start")  # who wrote the stream: not an event of the run
        self.assertEqual(evs[-1]["ev"], "summary")
        return evs[1:-1], evs[-1]

    def run_json(self, *args, expect=0):
        p = self.run_ft("run", *args, "--json")
        evs, s = self.json_events(p, expect)
        for e in evs:
            for k in ("t", "ev", "pid", "ppid"):
                self.assertIn(k, e, e)
        self.assertEqual(s["exit_status"], expect)
        return evs, s

    @staticmethod
    def kinds(evs, kind, **match):
        return [e for e in evs if e["ev"] == kind and all(e.get(k) == v for k, v in match.items())]

    def output_lines(self, evs, name=None):
        return [e["line"] for e in evs if e["ev"] == "output" and (name is None or e.get("name") == name)]


class MapCase(ForktopCase):
    """A `forktop map` test: its joblog read back, and runs started in the
    background (popen) and waited for (finish)."""
    JOBLOG_HEADER = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand"

    def joblog(self, path):
        """The rows of a joblog (GNU parallel's header, a newline at the
        end), each a list of its columns."""
        with open(path) as f:
            lines = f.read().split("\n")
        self.assertEqual(lines[0], self.JOBLOG_HEADER)
        self.assertEqual(lines[-1], "", "the joblog ends with a newline")
        return [line.split("\t") for line in lines[1:-1]]

    def popen(self, *args, **kw):
        """`forktop map ARGS` started: stdin a pipe and stdout to the file
        self.dir/out (what finish reads) unless kw says otherwise, stderr a
        pipe (finish reads it)."""
        out = open(os.path.join(self.dir, "out"), "w")
        try:
            kw.setdefault("stdin", subprocess.PIPE)
            kw.setdefault("stdout", out)
            return subprocess.Popen([FORKTOP, "map", *args], stderr=subprocess.PIPE,
                                    env=self.env, **kw)
        finally:
            out.close()

    def finish(self, p, close_stdin=True):
        """Wait for p from popen (killed if it outlives the timeout):
        (status, the lines of the file its stdout went to, its stderr)."""
        if close_stdin:
            try:
                p.stdin.close()
            except (BrokenPipeError, ValueError):
                pass
        try:
            p.wait(timeout=TIMEOUT)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            err = p.stderr.read().decode()
            p.stderr.close()
        return p.returncode, lines_of(os.path.join(self.dir, "out")), err


def main():
    # extra arguments after the binary and the workloads go to unittest (-k NAME)
    unittest.main(argv=[sys.argv[0], "-v", *sys.argv[3:]])


def drain_pty(fd):
    """Read what a program under the pty fd writes, as it comes, on a thread:
    (the bytes so far, growing; a function that stops the thread)."""
    screen = bytearray()
    stop = threading.Event()

    def drain():
        while not stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.05)
            try:
                if ready:
                    screen.extend(os.read(fd, 65536))
            except OSError:
                return
    t = threading.Thread(target=drain)
    t.start()

    def stop_drain():
        stop.set()
        t.join()
    return screen, stop_drain
