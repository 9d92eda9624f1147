"""`forktop map` streams stdin: each command starts as soon as its line has
come (a producer that waits for the first command before it writes the
second line finishes, where reading to the end first would wait for
ever), forktop reads only a few batches ahead of the commands (its peak
memory stays far below the input's size), -0 and a NUL byte's error are
as they were, and the joblog holds each job once, right, for a streamed
run long enough to need its bounded bookkeeping.

Ground truth comes from outside forktop: files the commands write, the
producer's own count of what it could write, /proc/PID/status.
"""
import fcntl
import os
import pty
import shlex
import signal
import sys
import termios
import threading
import struct

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftcase import FORKTOP, drain_pty, MapCase, lines_of, main, wait_for  # noqa: E402


with open(FORKTOP, "rb") as _f:  # an AddressSanitizer build keeps freed memory a while
    ASAN = b"__asan_init" in _f.read()


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class MapStream(MapCase):
    # 1. Each line runs as it comes, through a pipe the test holds open:
    # line k+1 is written only once line k's command has written its mark.
    # Reading stdin to its end before starting (the old way) never starts
    # line 1's command, and the test fails at its first wait.  {#} counts
    # as the items come; an empty line is an item (an empty argument, as
    # GNU parallel gives it); the joblog is written as the jobs end.
    def test_each_line_runs_as_it_comes(self):
        marks, log = os.path.join(self.dir, "marks"), os.path.join(self.dir, "joblog")
        script = 'printf "%%s\\n" "$1" >> %s' % marks
        p = self.popen("-j", "2", "--headless", "--joblog", log, "--", "sh", "-c", script, "sh",
                       "{#}:{}")
        items = ["a", "", "b c", "it's"]
        try:
            for i, item in enumerate(items):
                p.stdin.write((item + "\n").encode())
                p.stdin.flush()
                self.assertTrue(wait_for(lambda: len(lines_of(marks)) == i + 1, timeout=20),
                                "line %d did not run while stdin stayed open" % (i + 1))
                if os.geteuid() == 0:  # each exit seen by the connector: written at once
                    self.assertTrue(wait_for(lambda: len(lines_of(log)) == i + 2, timeout=20),
                                    "job %d is not in the joblog while stdin is open" % (i + 1))
            p.stdin.close()
        finally:
            rc, out, err = self.finish(p)
        self.assertEqual(rc, 0, err + "\n".join(out[-20:]))
        want = ["%d:%s" % (i + 1, item) for i, item in enumerate(items)]
        self.assertEqual(lines_of(marks), want)
        self.assertIn("4 tasks (4 done, 0 failed)", out[-1])
        rows = self.joblog(log)
        self.assertEqual([r[0] for r in rows], ["1", "2", "3", "4"])
        self.assertEqual([shlex.split(r[8]) for r in rows], [["sh", "-c", script, "sh", w]
                                                             for w in want])

    # 2. Memory: 200,000 lines of 1 KiB (200 MB) offered on a pipe while
    # the commands wait: forktop reads a few batches ahead of them and
    # stops, so the producer blocks with most of its input unwritten and
    # forktop's peak resident size stays far below the input's.  The old
    # way read all 200 MB (and the commands never started while it did).
    def test_memory_bounded_while_input_waits(self):
        if ASAN:
            self.skipTest("AddressSanitizer's shadow memory and quarantine: RSS says little")
        for extra in ([], ["--joblog", os.path.join(self.dir, "joblog")]):
            with self.subTest(extra=extra):
                self.check_memory(extra)

    # Long lines from a file (no pipe's pause cuts the batches short): a
    # batch of the pool's stream is bounded in bytes, not only in items.
    # 2,048 lines of 100 KiB are fewer than a batch's 4,096 items, and were
    # all read at once (200 MB); the file's offset says what was read.
    def test_long_lines_from_a_file_are_read_in_bounded_batches(self):
        if ASAN:
            self.skipTest("AddressSanitizer's shadow memory and quarantine: RSS says little")
        items = os.path.join(self.dir, "items")
        with open(items, "wb") as f:
            for _ in range(2048 // 64):
                f.write((b"y" * (100 << 10) + b"\n") * 64)
        marks = os.path.join(self.dir, "marks")
        with open(items, "rb") as src:
            p = self.popen("-j", "2", "--headless", "--", "sh", "-c",
                           'echo "$1" >> %s; exec sleep 300' % marks, "sh", "{#}", stdin=src)
        try:
            self.assertTrue(wait_for(lambda: len(lines_of(marks)) == 2, timeout=30))
            last = [-1, 0]

            def offset():
                with open("/proc/%d/fdinfo/0" % p.pid) as f:
                    return int(f.readline().split()[1])

            def settled():  # the same offset for 20 looks in a row
                pos = offset()
                last[1] = last[1] + 1 if pos == last[0] else 0
                last[0] = pos
                return last[1] >= 20
            self.assertTrue(wait_for(settled, timeout=30, step=0.05))
            self.assertLess(last[0], 64 << 20, "forktop read %d MB" % (last[0] >> 20))
            self.assertLess(vm_hwm_kib(p.pid), 80 * 1024)
        finally:
            p.send_signal(signal.SIGINT)
            rc, out, err = self.finish(p, close_stdin=False)
        self.assertEqual(rc, 128 + signal.SIGINT, err)

    def check_memory(self, extra):
        marks = os.path.join(self.dir, "marks")
        if os.path.exists(marks):
            os.unlink(marks)
        p = self.popen("-j", "2", "--headless", *extra, "--", "sh", "-c",
                       'echo "$1" >> %s; exec sleep 300' % marks, "sh", "{#}")
        line, total = b"x" * 1023 + b"\n", 200000
        written = [0]
        done = threading.Event()
        fd = p.stdin.fileno()  # the pipe's end, looked at while the producer writes to it

        def produce():
            try:
                for _ in range(total // 64):
                    p.stdin.write(line * 64)
                    written[0] += 64 * len(line)
                p.stdin.close()
            except (BrokenPipeError, ValueError):
                pass
            try:
                p.stdin.close()
            except (BrokenPipeError, ValueError):
                pass
            done.set()
        t = threading.Thread(target=produce)
        t.start()
        try:
            self.assertTrue(wait_for(lambda: len(lines_of(marks)) == 2, timeout=30),
                            "no command started while the input was still coming")
            # forktop has stopped reading: the pipe stays full (what a
            # reader would empty) for 20 looks in a row
            full = [0]

            def stalled():
                if done.is_set():
                    return True
                buf = fcntl.ioctl(fd, termios.FIONREAD, struct.pack("i", 0))
                full[0] = full[0] + 1 if struct.unpack("i", buf)[0] >= 32768 else 0
                return full[0] >= 20
            self.assertTrue(wait_for(stalled, timeout=30, step=0.05))
            kib = vm_hwm_kib(p.pid)
            self.assertFalse(done.is_set(), "forktop read all %d MB" % (written[0] >> 20))
            self.assertLess(written[0], 64 << 20, "forktop read %d MB" % (written[0] >> 20))
            self.assertLess(kib, 60 * 1024, "peak %d KiB for %d MB read" % (kib, written[0] >> 20))
        finally:
            p.send_signal(signal.SIGINT)  # as Ctrl-C: the commands are stopped too
            rc, out, err = self.finish(p, close_stdin=False)
            t.join()  # the producer's write fails (EPIPE) once forktop has gone
        self.assertEqual(rc, 128 + signal.SIGINT, err)

    # 3. -0 streamed: items with newlines, empty ones, across the first
    # read and the feed's buffers; a NUL byte in a line without -0 stops the
    # stream there (stdin:LINE), the items before it run, exit 1; so does
    # a line longer than the bound of a line (1 MiB: no argument can be
    # longer anyway).
    def test_nul_separated_and_nul_errors(self):
        out = os.path.join(self.dir, "o")
        os.mkdir(out)
        items = ["n%d\nline two %s" % (i, "y" * (i % 300)) if i % 7 else "" for i in range(1200)]
        data = "\0".join(items) + "\0"
        self.assertGreater(len(data), 2 * 65536)
        p = self.run_ft("map", "-0", "-j", "2", "--headless", "--", "sh", "-c",
                        'printf %%s "$1" > %s/$2' % out, "sh", "{}", "{#}", stdin=data)
        self.assertEqual(p.returncode, 0, p.stderr + p.stdout[-2000:])
        got = {}
        for name in os.listdir(out):
            with open(os.path.join(out, name)) as f:
                got[int(name)] = f.read()
        self.assertEqual(got, {i + 1: v for i, v in enumerate(items)})

        marks, log = os.path.join(self.dir, "marks"), os.path.join(self.dir, "joblog")
        p = self.run_ft("map", "-j", "2", "--json", "--joblog", log, "--", "sh", "-c",
                        'echo "$1" >> %s' % marks, "sh", stdin="a\nb\nc\0d\ne\n")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("forktop map: stdin:3: the line holds a NUL byte (-0 reads NUL-separated "
                      "items)", p.stderr)
        self.assertEqual(sorted(lines_of(marks)), ["a", "b"])
        self.assertEqual(sorted(r[0] for r in self.joblog(log)), ["1", "2"])
        self.assertIn('"error":"pool map: cannot read stdin:3: the line holds a NUL byte',
                      p.stdout)

        p = self.run_ft("map", "-j", "2", "--headless", "--", "sh", "-c",
                        'echo "$1" >> %s' % marks, "sh", stdin="c\n" + "x" * (2 << 20) + "\n")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertRegex(p.stderr, r"forktop map: stdin:2: the line is longer than \d+ bytes")
        self.assertEqual(sorted(lines_of(marks)), ["a", "b", "c"])

    # 4. A streamed run's joblog: every job once, with its own Exitval and
    # command, 300 jobs a worker (past the bookkeeping's bound of jobs not
    # yet paired with their command's exit), watched by the kernel's
    # connector and by /proc scans (which miss most exits).
    def test_joblog_of_a_long_streamed_run(self):
        n = 600
        script = "exit $(( {} % 3 ))"
        for how in (["--scan"], [] if os.geteuid() == 0 else None):
            if how is None:
                continue
            with self.subTest(how=how):
                log = os.path.join(self.dir, "joblog%d" % len(how))
                p = self.run_ft("map", "-j", "2", "--headless", "--joblog", log, *how, "--",
                                "sh", "-c", script, stdin="".join("%d\n" % i for i in range(n)))
                self.assertEqual(p.returncode, 1, p.stderr + p.stdout[-2000:])
                self.assertIn("%d tasks (%d done, %d failed)" % (n, n // 3, n - n // 3), p.stdout)
                rows = self.joblog(log)
                self.assertEqual(sorted(int(r[0]) for r in rows), list(range(1, n + 1)))
                for r in rows:
                    item = int(r[0]) - 1
                    self.assertEqual((int(r[6]), int(r[7])), (item % 3, 0), r)
                    self.assertEqual(r[8], shlex.join(["sh", "-c", script.replace("{}",
                                                                                  str(item))]))

    # 5. The dashboard with the items on a pipe: the keys come from the
    # terminal (/dev/tty over fd 0) while the items are still read from the
    # pipe, line by line as they come; q ends it once the work is done.
    def test_dashboard_reads_the_pipe_and_keys_from_the_terminal(self):
        marks = os.path.join(self.dir, "marks")
        r, w = os.pipe()
        pid, fd = pty.fork()
        if pid == 0:
            os.dup2(r, 0)
            os.closerange(3, 1024)
            os.environ.update(self.env, TERM="xterm", COLUMNS="100", LINES="30")
            os.execv(FORKTOP, [FORKTOP, "map", "-j", "2", "--", "sh", "-c",
                               'echo "$1" >> %s' % marks, "sh", "{}"])
        os.close(r)
        screen, stop_drain = drain_pty(fd)
        status = [None]
        try:
            for i, item in enumerate(["one", "two", "three"]):
                os.write(w, (item + "\n").encode())
                self.assertTrue(wait_for(lambda: len(lines_of(marks)) == i + 1, timeout=20),
                                "%s did not run while the pipe stayed open" % item)
            os.close(w)
            w = -1
            self.assertTrue(wait_for(lambda: b"finished" in screen, timeout=20),
                            "the dashboard did not show the end")
            os.write(fd, b"q")

            def reaped():
                got, st = os.waitpid(pid, os.WNOHANG)
                if got == pid:
                    status[0] = os.waitstatus_to_exitcode(st)
                return got == pid
            self.assertTrue(wait_for(reaped, timeout=20), "q did not end the dashboard")
        finally:
            if w >= 0:
                os.close(w)
            if status[0] is None:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            stop_drain()
            os.close(fd)
        self.assertEqual(lines_of(marks), ["one", "two", "three"])
        self.assertEqual(status[0], 0)


if __name__ == "__main__":
    main()
