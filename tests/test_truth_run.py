"""`forktop run WORKLOAD` tells exactly the truth and never hangs: shell
steps quote their item, alloc really grows RSS, exec'd programs are in the
tree, work that could not start as asked is reported, stops give the
documented grace, dead consumers do not hang producers, counts add up.

Ground truth comes from outside forktop: files the children write, /proc.
"""
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftcase import FORKTOP, ForktopCase, main, wait_for  # noqa: E402


class TruthRun(ForktopCase):
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

    # 1. shell steps: the item is one quoted word, never shell code.
    def test_shell_item_is_quoted(self):
        items = ["a; touch %s/INJECTED" % self.dir, "$(touch %s/X)" % self.dir,
                 "`touch %s/Y`" % self.dir, "it's | touch %s/Z" % self.dir, "plain"]
        with open(os.path.join(self.dir, "items.txt"), "w") as f:
            f.write("\n".join(items) + "\n")
        wl = self.workload("[workload]\nname = quoting\n[pool p]\nworkers = 2\n"
                           "items = @items.txt\ntask = shell printf '%%s\\n' {} > %s/out.$$\n"
                           % self.dir)
        evs, s = self.run_json(wl)
        for f in ("INJECTED", "X", "Y", "Z"):
            self.assertFalse(os.path.exists(os.path.join(self.dir, f)), f + " was created")
        got = []
        for f in os.listdir(self.dir):
            if f.startswith("out."):
                with open(os.path.join(self.dir, f)) as fh:
                    got += fh.read().splitlines()
        self.assertEqual(sorted(got), sorted(items))

    # 2. alloc really faults its pages in: the process's peak RSS (VmHWM, from
    # /proc, read by a shell it runs) grows by the size.
    def test_alloc_grows_rss(self):
        wl = self.workload("[workload]\nname = alloc\n[process p]\n"
                           "run = shell grep VmHWM /proc/$PPID/status; alloc 64M; "
                           "shell grep VmHWM /proc/$PPID/status\n")
        evs, s = self.run_json(wl)
        kb = [int(line.split()[1]) for line in self.output_lines(evs) if line.startswith("VmHWM")]
        self.assertEqual(len(kb), 2, self.output_lines(evs))
        self.assertGreaterEqual(kb[1] - kb[0], 60 * 1024, kb)


if __name__ == "__main__":
    main()
