"""Watching costs what changes, not what exists: with the proc connector a
quiet process (alive, read once) is not read from /proc on every scan.

Ground truth from outside forktop: strace on its supervisor counts the
opens of /proc/PID/stat for the processes that a pool's tasks exec'd (300
`sleep`s, found in /proc by their test tag).  Read every scan (ten a
second), as before, they cost 300 opens a scan; read in turn, at most
FT__QUIET_READS (64) a scan and those few it has not read yet.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftcase import FORKTOP, ForktopCase, comm_of, main, tagged_pids, wait_for  # noqa: E402

N = 300


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("strace"),
                     "needs the proc connector (root) and strace")
class QuietReads(ForktopCase):
    def test_quiet_processes_are_read_in_turn(self):
        path = self.workload(f"[workload]\nname = quiet\n\n[pool p]\nworkers = {N}\n"
                             f"submit = apply_async\ntasks = {N}\ntask = exec sleep 60\n")
        ft = subprocess.Popen([FORKTOP, "--headless", "run", path], env=self.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            sleeps = wait_for(lambda: [p for p in tagged_pids(self.tag) if comm_of(p) == "sleep"]
                              if len([p for p in tagged_pids(self.tag)
                                      if comm_of(p) == "sleep"]) >= N else None, timeout=60)
            self.assertTrue(sleeps, "the sleeps did not all start")
            time.sleep(1)  # every one read once, by now
            log = os.path.join(self.dir, "trace")
            window = 2.0
            st = subprocess.Popen(["strace", "-qq", "-e", "trace=openat", "-o", log,
                                   "-p", str(ft.pid)])
            time.sleep(window)
            st.send_signal(signal.SIGINT)
            st.wait(timeout=10)
            mine = {str(p) for p in sleeps}
            with open(log) as f:
                reads = [m.group(1) for m in re.finditer(r'"/proc/(\d+)/stat"', f.read())
                         if m.group(1) in mine]
            scans = window / 0.1
            self.assertGreater(len(reads), 0, "no process read at all: is the trace working?")
            # read every scan: N a scan; in turn: at most 64 a scan
            self.assertLess(len(reads), 0.5 * N * scans, f"{len(reads)} reads in {window} s")
        finally:
            ft.send_signal(signal.SIGTERM)
            ft.wait(timeout=60)


if __name__ == "__main__":
    main()
