#!/usr/bin/env python3
"""forktop bench end to end: a workload file's pools (--workers), a command
pool over stdin's lines (-j), a program that runs its own processes
(--param N=... -- make -j{N}); hyperfine's conventions (--warmup, --runs,
--prepare, --cleanup, its export fields, read back as hyperfine's scripts
read them); the tree's figures checked against ground truth from outside
forktop (each command writes its own pid; strace counts make's processes);
exit codes; usage errors.

usage: test_bench.py FORKTOP_BINARY WORKLOADS_DIR
"""
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftcase import FORKTOP, ForktopCase  # noqa: E402

# as root the kernel's process-event connector reports every process
CONNECTOR = os.geteuid() == 0

# hyperfine's names for a result (hyperfine 1.15's --export-json)
HYPERFINE_KEYS = {"command", "mean", "stddev", "median", "user", "system", "min", "max", "times",
                  "exit_codes", "parameters"}


def make_project(d, nfiles=6):
    """nfiles small C files and a Makefile that compiles each to an object."""
    os.makedirs(d, exist_ok=True)
    for i in range(nfiles):
        with open(os.path.join(d, f"f{i}.c"), "w") as f:
            f.write(f"int f{i}(int x) {{ int s = 0; for (int i = 0; i < x; i++) s += i * {i}; "
                    f"return s; }}\n")
    objs = " ".join(f"f{i}.o" for i in range(nfiles))
    with open(os.path.join(d, "Makefile"), "w") as f:
        f.write(f"OBJS = {objs}\nall: $(OBJS)\n%.o: %.c\n\tcc -O0 -c $< -o $@\n"
                "clean:\n\trm -f *.o\n")


class Bench(ForktopCase):
    def bench(self, *args, stdin=None, timeout=120):
        return self.run_ft("bench", "--headless", *args, stdin=stdin, timeout=timeout)

    def out(self, name):
        return os.path.join(self.dir, name)

    def check_hyperfine_result(self, r, runs):
        """One result as hyperfine writes it, and its numbers consistent."""
        self.assertTrue(HYPERFINE_KEYS <= set(r), HYPERFINE_KEYS - set(r))
        self.assertIsInstance(r["command"], str)
        self.assertEqual(len(r["times"]), runs)
        self.assertEqual(len(r["exit_codes"]), runs)
        self.assertAlmostEqual(r["mean"], statistics.mean(r["times"]), places=9)
        self.assertAlmostEqual(r["median"], statistics.median(r["times"]), places=9)
        self.assertAlmostEqual(r["stddev"], statistics.stdev(r["times"]), places=9)
        self.assertEqual(r["min"], min(r["times"]))
        self.assertEqual(r["max"], max(r["times"]))
        for v in r["parameters"].values():
            self.assertIsInstance(v, str)  # hyperfine's parameter values are strings

    # ---------------------------------------------------------------- -j

    def test_command_pool_sweep(self):
        """-j 1,2 over 4 inputs read once from stdin: every command runs once
        per run (its own pid written to a file), the tree's process count is
        the workers plus the commands, the most alive at once is a worker
        and its command per worker, and the exports carry hyperfine's
        fields."""
        pids = self.out("pids")
        exp = {k: self.out("r." + k) for k in ("json", "csv", "md")}
        p = self.bench("-j", "1,2", "--runs", "3", "--warmup", "1",
                       "--export-json", exp["json"], "--export-csv", exp["csv"],
                       "--export-markdown", exp["md"],
                       "--", "sh", "-c", f"echo $$ >> {pids}; exec sleep 0.05",
                       stdin="a\nb\nc\nd\n")
        self.assertEqual(p.returncode, 0, p.stderr + p.stdout)
        self.assertIn("recommended pool size:", p.stdout)
        self.assertIn("4 input(s)", p.stdout)
        with open(pids) as f:
            lines = f.read().split()
        self.assertEqual(len(lines), 2 * 4 * 4)  # 2 sizes, 1 warm-up + 3 runs, 4 inputs
        self.assertEqual(len(set(lines)), len(lines))
        with open(exp["json"]) as f:
            j = json.load(f)
        self.assertEqual(j["kind"], "pool")
        self.assertEqual([r["parameters"] for r in j["results"]],
                         [{"workers": "1"}, {"workers": "2"}])
        for n, r in zip((1, 2), j["results"]):
            self.check_hyperfine_result(r, 3)
            self.assertEqual(r["exit_codes"], [0, 0, 0])
            # four commands of 50 ms on n workers take at least 4/n x 50 ms
            self.assertGreaterEqual(r["min"], 0.05 * 4 / n)
            if CONNECTOR:  # every process seen (a /proc scan may miss a short one)
                self.assertEqual(r["processes_runs"], [n + 4] * 3)
            # n workers and a command each; one more when a command's exit
            # is heard after its worker's next fork
            for peak in r["peak_concurrency_runs"]:
                self.assertTrue(n + 1 <= peak <= 2 * n + 1, r["peak_concurrency_runs"])
            self.assertIn(2 * n, r["peak_concurrency_runs"])
            self.assertGreater(r["peak_rss_kb"], 0)
            for cpu, wall in zip(r["cpu_times"], r["times"]):
                self.assertGreater(cpu, 0)
                self.assertLessEqual(cpu, wall * os.cpu_count() + 0.05)
            self.assertAlmostEqual(r["user"] + r["system"], statistics.mean(r["cpu_times"]),
                                   places=5)
        with open(exp["csv"]) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(list(rows[0])[:9], ["command", "mean", "stddev", "median", "user",
                                             "system", "min", "max", "parameter_workers"])
        for row, r in zip(rows, j["results"]):
            self.assertEqual(row["command"], r["command"])
            self.assertAlmostEqual(float(row["mean"]), r["mean"], places=6)
            self.assertEqual(int(row["peak_concurrency"]), r["peak_concurrency"])
        with open(exp["md"]) as f:
            md = f.read()
        self.assertIn("| Command | Mean [ms] | Min [ms] | Max [ms] | Relative |", md)
        self.assertIn("`-j 2 -- sh -c ", md)

    def test_command_pool_failures_and_items(self):
        """A command that fails makes the run's exit code 1 and bench's
        exit status 1; items after ::: stand for stdin."""
        p = self.bench("-j", "1", "--runs", "2", "--warmup", "0", "--export-json", self.out("j"),
                       "--", "sh", "-c", "exit $(( {} % 2 ))", ":::", "1", "2")
        self.assertEqual(p.returncode, 1, p.stderr + p.stdout)
        self.assertIn("(failed)", p.stdout)
        with open(self.out("j")) as f:
            r = json.load(f)["results"][0]
        self.assertEqual(r["exit_codes"], [1, 1])
        self.assertEqual(r["tasks_failed"], 2)

    # ------------------------------------------------------------- --param

    def test_param_make(self):
        """--param N=1,2 -- make -j{N} -C DIR: --prepare runs before every
        run (so every run compiles everything: the same number of
        processes each time, the number strace counts for the same build),
        --cleanup once after each value's runs; the commands are make -j1
        and make -j2, hyperfine's parameters {"N": "1"}."""
        if not shutil.which("cc") or not shutil.which("strace"):
            self.skipTest("needs cc and strace")
        proj = self.out("proj")
        make_project(proj)
        # ground truth: the processes of one clean build, counted by strace
        subprocess.run(["make", "-s", "-C", proj, "clean"], check=True, timeout=30)
        trace = self.out("trace")
        subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve", "-o", trace,
                        "make", "-s", "-j1", "-C", proj], check=True, timeout=60,
                       stdout=subprocess.DEVNULL)
        with open(trace) as f:
            truth = len({line.split()[0] for line in f if line.strip()})
        prepared, cleaned = self.out("prepared"), self.out("cleaned")
        j = self.out("p.json")
        p = self.bench("--param", "N=1,2", "--runs", "2", "--warmup", "1",
                       "--prepare", f"make -s -C {proj} clean; echo p >> {prepared}",
                       "--cleanup", f"echo c >> {cleaned}",
                       "--export-json", j, "--export-csv", self.out("p.csv"),
                       "--", "make", "-s", "-j{N}", "-C", proj, timeout=180)
        self.assertEqual(p.returncode, 0, p.stderr + p.stdout)
        with open(prepared) as f:
            self.assertEqual(f.read().split(), ["p"] * 6)  # 2 values x (1 warm-up + 2 runs)
        with open(cleaned) as f:
            self.assertEqual(f.read().split(), ["c"] * 2)
        with open(j) as f:
            d = json.load(f)
        self.assertEqual(d["kind"], "param")
        self.assertEqual([r["command"] for r in d["results"]],
                         [f"make -s -j1 -C {proj}", f"make -s -j2 -C {proj}"])
        self.assertEqual([r["parameters"] for r in d["results"]], [{"N": "1"}, {"N": "2"}])
        for r in d["results"]:
            self.check_hyperfine_result(r, 2)
            self.assertEqual(r["exit_codes"], [0, 0])
            if CONNECTOR:
                self.assertEqual(r["processes_runs"], [truth, truth])
            self.assertGreater(r["user"] + r["system"], 0)
            self.assertGreater(r["peak_rss_kb"], 1024)  # cc1 alone holds more than a MB
        self.assertGreaterEqual(d["results"][1]["peak_concurrency"],
                                d["results"][0]["peak_concurrency"])
        with open(self.out("p.csv")) as f:
            header = next(csv.reader(f))
        self.assertEqual(header[:9], ["command", "mean", "stddev", "median", "user", "system",
                                      "min", "max", "parameter_N"])
        self.assertIn("recommended N:", p.stdout)

    def test_param_exit_codes(self):
        """Each run's exit code as the command gave it; any non-zero: exit 1."""
        j = self.out("e.json")
        p = self.bench("--param", "N=0,3", "--runs", "2", "--warmup", "0", "--export-json", j,
                       "--", "sh", "-c", "exit {N}")
        self.assertEqual(p.returncode, 1, p.stderr + p.stdout)
        with open(j) as f:
            d = json.load(f)
        self.assertEqual([r["exit_codes"] for r in d["results"]], [[0, 0], [3, 3]])
        self.assertIn("run(s) failed", p.stdout)

    def test_prepare_failure_stops(self):
        p = self.bench("--param", "N=1", "--prepare", "exit 4", "--", "sleep", "0.0{N}")
        self.assertEqual(p.returncode, 1)
        self.assertIn("--prepare command failed with exit status 4", p.stderr)

    def test_hyperfine_reads_the_same_keys(self):
        """Where hyperfine is installed, our results hold every key of its
        own export, with the same types."""
        if not shutil.which("hyperfine"):
            self.skipTest("hyperfine is not installed")
        hf = self.out("hf.json")
        subprocess.run(["hyperfine", "-N", "--runs", "2", "-P", "N", "1", "2", "--export-json", hf,
                        "sleep 0.00{N}"], check=True, capture_output=True, timeout=60)
        ours = self.out("ours.json")
        p = self.bench("--param", "N=1,2", "--runs", "2", "--warmup", "0", "--export-json", ours,
                       "--", "sleep", "0.00{N}")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(hf) as f:
            theirs = json.load(f)
        with open(ours) as f:
            mine = json.load(f)
        self.assertEqual([r["parameters"] for r in theirs["results"]],
                         [r["parameters"] for r in mine["results"]])
        self.assertEqual([r["command"] for r in theirs["results"]],
                         [r["command"] for r in mine["results"]])
        for a, b in zip(theirs["results"], mine["results"]):
            self.assertTrue(set(a) <= set(b), set(a) - set(b))
            for k in a:
                self.assertEqual(type(a[k]) is list, type(b[k]) is list, k)
                self.assertEqual(isinstance(a[k], (int, float)), isinstance(b[k], (int, float)), k)

    # ------------------------------------------------------- the workload

    CPU = "[workload]\nname = short\n[pool main]\nsubmit = map\ntasks = 8\ntask = cpu 2M\n"

    def test_workload_sweep_and_exports(self):
        wl = self.workload(self.CPU, "short.ini")
        out = {k: self.out("r." + k) for k in ("json", "csv", "md", "svg")}
        p = self.bench(wl, "--workers", "1,2", "--runs", "2", "--warmup", "0",
                       "--export-json", out["json"], "--export-csv", out["csv"],
                       "--export-markdown", out["md"], "--export-svg", out["svg"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("recommended pool size:", p.stdout)
        with open(out["json"]) as f:
            j = json.load(f)
        self.assertEqual(j["kind"], "workload")
        self.assertEqual([r["workers"] for r in j["results"]], [1, 2])
        for n, r in zip((1, 2), j["results"]):
            self.check_hyperfine_result(r, 2)
            self.assertEqual(r["exit_codes"], [0, 0])
            self.assertEqual(r["tasks_failed"], 0)
            self.assertEqual(r["processes_runs"], [n, n])  # the workers: cpu tasks fork nothing
        self.assertAlmostEqual(j["results"][0]["speedup"], 1.0)
        self.assertIn(j["recommended"], (1, 2))
        self.assertIn("cpus", j["machine"])
        with open(out["csv"]) as f:
            rows = list(csv.DictReader(f))
        for row, r in zip(rows, j["results"]):
            self.assertEqual(int(row["parameter_workers"]), r["workers"])
            self.assertAlmostEqual(float(row["speedup"]), r["speedup"], places=3)
        with open(out["md"]) as f:
            md = f.read()
        self.assertIn("| `short --workers 2` |", md)
        import xml.etree.ElementTree as ET
        svg = ET.parse(out["svg"]).getroot()
        self.assertEqual(len([e for e in svg.iter() if e.tag.endswith("circle")]), 2)

    def test_failing_workload_is_reported(self):
        wl = self.workload("[workload]\nname = bad\n[pool main]\ntasks = 2\ntask = fail 4\n")
        p = self.bench(wl, "--workers", "1", "--runs", "1", "--warmup", "0")
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("(failed)", p.stdout)
        self.assertIn("run(s) failed", p.stdout)

    # ----------------------------------------------------------- advice

    def test_advice_never_zero_error_and_cpu_warning(self):
        """Sizes above the online CPUs are measured, left out of the fit and
        warned of; the error of the fit is never printed as 0.000."""
        n = os.cpu_count()
        p = self.bench("-j", f"1,{n},{n + 1}", "--runs", "2", "--warmup", "0",
                       "--", "sleep", "0.02", ":::", "1", "2", "3", "4")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"exceed the {n} online CPUs ({n + 1})", p.stdout)
        self.assertNotIn("± 0.000 (", p.stdout)
        self.assertNotIn("± 0.000)", p.stdout)
        if n > 1:
            self.assertIn(f"fitted on the 2 size(s) up to the {n} online CPUs", p.stdout)
        self.assertRegex(p.stdout, r"recommended pool size: \d+, the ")

    # ------------------------------------------------------- usage

    def test_usage_errors(self):
        cases = [
            (["--param", "N=1,2", "--", "echo", "x"], "has no {N}"),
            (["-j", "1", "--param", "N=1", "--", "echo", "{N}"], "choose one"),
            (["-j", "0", "--", "true"], "-j: 0 is out of range"),
            (["-j", "x", "--", "true"], "-j:"),
            (["--param", "=1", "--", "true"], "expected NAME=LIST"),
            (["--runs"], "needs a value"),
            (["--bogus", "--", "true"], "unknown option"),
            ([], "nothing to run"),
            (["-s", "a=b", "--", "true"], "-s applies to a WORKLOAD only"),
            (["cpu-map", "--", "true"], "not both"),
            (["--runs", "0", "cpu-map"], "--runs"),
            (["cpu-map", "--workers", "4..2"], "--workers: bad range"),
            (["queue", "--workers", "1"], "needs a workload with a [pool NAME]"),
            (["-j", "1", "--", "true"], "no inputs"),
        ]
        for args, msg in cases:
            p = self.run_ft("bench", *args, stdin="")
            self.assertEqual(p.returncode, 2, (args, p.stdout, p.stderr))
            self.assertIn(msg, p.stderr, args)
        p = self.run_ft("bench", "--help")
        self.assertEqual(p.returncode, 0)
        for word in ("--param", "--prepare", "--cleanup", "-j, --workers", "exit status"):
            self.assertIn(word, p.stdout)
        p = self.run_ft("help", "bench")  # the table routes help to bench's own page
        self.assertEqual(p.returncode, 0)
        self.assertIn("--param", p.stdout)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
