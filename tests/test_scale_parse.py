"""Parsing and planning grow linearly with the workload file: 100,000
sections parsed and checked (the cycle check of `after` included), 200,000
[queue] sections rejected, a 5,000-process `after` chain started at once.

No timing is asserted beyond bounds a linear parser meets 20 times over
and a quadratic (or, for the old cycle check, cubic) one misses by far:
before, 100,000 chained sections never finished checking, 100,000 queues
took 9 s to reject (200,000: four times that) and a 5,000-process chain
waited 36 s for its first spawn."""
import json
import signal
import subprocess
import time

from ftcase import FORKTOP, TIMEOUT, ForktopCase, main

BOUND = 20  # seconds: linear takes well under 1 s here


class ScaleParse(ForktopCase):
    def timed(self, *args):
        t0 = time.monotonic()
        p = self.run_ft(*args, timeout=BOUND + 10)
        return p, time.monotonic() - t0

    def test_100k_sections_with_a_cycle_at_the_end(self):
        # 50,000 pools, each putting on its own queue (50,000 queues), chained
        # by `after`; the first waits for the last: one cycle through them all,
        # found only once every section has been parsed and checked.
        n = 50000
        text = ["[workload]\nname = big\n"]
        for i in range(n):
            text.append(f"[pool p{i}]\nitems = a, b\ntask = sleep 0; put q{i} x\n"
                        f"after = p{(i - 1) % n}\n[queue q{i}]\ncapacity = 5\n")
        path = self.workload("".join(text))
        p, took = self.timed("--headless", path)
        self.assertEqual(p.returncode, 2, p.stderr[-500:])
        # the cycle of the first part in the file, named by its start and end
        self.assertIn(f"{path}:6: after: a cycle that would wait forever: p0 -> p{n - 1} -> "
                      f"p{n - 2}", p.stderr)
        self.assertIn(f"... ({n - 9} more) -> p0\n", p.stderr)
        self.assertLess(len(p.stderr), 1000, "one short line, not the whole cycle")
        self.assertLess(took, BOUND)

    def test_100k_processes_one_bad_name_at_the_end(self):
        # every `after` and `stop_when` is looked up by name; the last is wrong
        n = 100000
        text = [f"[process p{i}]\nrun = sleep 0\nafter = p{i + 1}\nstop_when = p{i + 2}\n"
                for i in range(n - 2)]
        text.append(f"[process p{n - 2}]\nrun = sleep 0\n[process p{n - 1}]\nrun = sleep 0\n"
                    "after = nosuch\n")
        path = self.workload("".join(text))
        p, took = self.timed("--headless", path)
        self.assertEqual(p.returncode, 2, p.stderr[-500:])
        self.assertIn(f"after: \"nosuch\" names no process or pool", p.stderr)
        self.assertLess(took, BOUND)

    def test_200k_queue_sections_rejected(self):
        n = 200000
        path = self.workload("".join(f"[queue q{i}]\ncapacity = 10\n" for i in range(n)))
        p, took = self.timed("--headless", path)
        self.assertEqual(p.returncode, 2, p.stderr[-500:])
        self.assertIn("no [pool NAME] or [process NAME]: nothing to run", p.stderr)
        self.assertLess(took, BOUND)
        # a duplicate among them is still found, and where
        with open(path, "a") as f:
            f.write("[queue q123456]\n")
        p, took = self.timed("--headless", path)
        self.assertEqual(p.returncode, 2)
        self.assertIn(f":{2 * n + 1}: duplicate name \"q123456\" (first used at line 246913)",
                      p.stderr)
        self.assertLess(took, BOUND)

    def test_5000_process_chain_starts_at_once_and_runs_in_order(self):
        n = 5000
        path = self.workload("".join(f"[process p{i}]\nrun = sleep 0\n" +
                                     (f"after = p{i - 1}\n" if i else "") for i in range(n)))
        t0 = time.monotonic()
        p = subprocess.Popen([FORKTOP, "run", path, "--json"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=self.env)
        try:
            # the first 300 are enough to see the chain go (all 5,000 would
            # take long in a sanitizer's build); then the run is stopped
            first = None
            spawned = []
            for line in p.stdout:
                ev = json.loads(line)
                if ev["ev"] == "spawn" and ev.get("role") == "process":
                    first = first or time.monotonic() - t0
                    spawned.append(ev["name"])
                    if len(spawned) == 300:
                        p.send_signal(signal.SIGTERM)
            p.stderr.read()
            p.wait(timeout=TIMEOUT)
        finally:
            p.stdout.close()
            p.stderr.close()
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertLess(first, BOUND)
        self.assertGreaterEqual(len(spawned), 300)
        self.assertEqual(spawned, [f"p{i}" for i in range(len(spawned))],
                         "each after the one before")


if __name__ == "__main__":
    main()
