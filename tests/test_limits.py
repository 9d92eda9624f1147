"""No silent caps: forktop raises its soft open-file limit to the hard one,
says plainly (name and value) which limit stopped work from starting, with
a non-zero exit, and takes pools past the old fixed maxima (4,096 workers,
1,000,000 items).

Limits are set for forktop alone (setrlimit in preexec_fn, prlimit, setpriv
to drop to an unprivileged user), never for the machine.  Ground truth for
how many workers started comes from /proc (the children of forktop).
"""
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
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


if __name__ == "__main__":
    main()
