#!/usr/bin/env python3
"""Integration tests of the forktop program: every shipped workload runs
headless and as JSON (shortened with -s), and its events are checked for
what that example must show; bad command lines and bad workload files give
usage errors; a recording replays to the same events; Ctrl-C stops cleanly.

Every run carries a unique tag in its environment; after each test no
process with that tag may be alive (nothing left behind).

usage: test_cli.py FORKTOP_BINARY WORKLOADS_DIR
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftcase import FORKTOP, WORKLOADS, TIMEOUT, ForktopCase, tagged_pids, wait_for  # noqa: E402


class Workloads(ForktopCase):
    def test_fork(self):
        evs, s = self.run_json("fork")
        spawns = self.kinds(evs, "spawn")
        self.assertGreaterEqual(len(spawns), 1)
        me = os.getpid()
        for sp in spawns:
            self.assertNotEqual(sp["pid"], sp["ppid"])
        exits = self.kinds(evs, "exit")
        self.assertEqual(len(exits), len(spawns))
        self.assertTrue(all(e.get("code") == 0 for e in exits))
        self.assertNotEqual(me, spawns[0]["ppid"])  # the supervisor is forktop, not us

    def test_process_123(self):
        evs, s = self.run_json("process-123")
        self.assertEqual(self.output_lines(evs), ["1", "2", "3"])
        self.assertEqual([e.get("code") for e in self.kinds(evs, "exit")], [0])

    def test_pool_sleep(self):
        evs, s = self.run_json("pool-sleep", "-s", "main.tasks=12", "-s", "main.workers=4",
                               "-s", "main.task=sleep 10ms..100ms")
        self.assertEqual(len(self.kinds(evs, "task_done")), 12)
        self.assertGreater(len({e["worker_pid"] for e in self.kinds(evs, "task_done")}), 1)
        self.assertEqual(s["tasks_done"], 12)
        self.assertEqual(s["tasks_failed"], 0)

    def test_pool_map(self):
        evs, s = self.run_json("pool-map")
        self.assertGreater(s["tasks_done"], 0)
        self.assertEqual(s["tasks_failed"], 0)
        self.assertEqual(len(self.kinds(evs, "pool_end")), len(self.kinds(evs, "pool_start")))

    def test_maxtasks(self):
        evs, s = self.run_json("maxtasks")
        replaced = self.kinds(evs, "worker_replaced", reason="recycled")
        self.assertGreater(len(replaced), 0)
        for r in replaced:
            self.assertNotEqual(r["old_pid"], r["new_pid"])

    def test_subprocess(self):
        evs, s = self.run_json("subprocess")
        self.assertEqual(s["exit_status"], 0)
        lines = self.output_lines(evs)
        self.assertTrue(any(l[:3] in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun") for l in lines), lines)

    def test_queue(self):
        evs, s = self.run_json("queue", "-s", "writer.run=put q A B C pace=100ms; sleep 100ms")
        self.assertEqual(self.output_lines(evs, "reader"), ["A", "B", "C"])
        samples = self.kinds(evs, "queue", queue="q")
        self.assertTrue(samples)
        self.assertEqual(samples[-1]["puts"], 3)
        self.assertEqual(samples[-1]["gets"], 3)
        reader_exit = [e for e in self.kinds(evs, "exit") if e.get("name") == "reader"]
        self.assertEqual(len(reader_exit), 1)
        self.assertEqual(reader_exit[0].get("signal"), "SIGTERM")

    def test_cpu_map(self):
        evs, s = self.run_json("cpu-map", "-s", "workers=2", "-s", "tasks=8")
        self.assertEqual(s["tasks_done"], 8)

    def test_pipeline(self):
        evs, s = self.run_json("pipeline")
        self.assertEqual(s["exit_status"], 0)
        self.assertTrue(self.kinds(evs, "queue"))

    def test_crashy(self):
        evs, s = self.run_json("crashy", "-s", "tasks=40", "-s", "workers=2", expect=1)
        fails = self.kinds(evs, "task_fail")
        self.assertTrue(fails)
        self.assertTrue(all(f.get("signal") == "SIGKILL" for f in fails))
        self.assertEqual(s["tasks_done"] + s["tasks_failed"], 40)
        self.assertEqual(len(self.kinds(evs, "worker_replaced", reason="died")), len(fails))

    def test_leaky(self):
        evs, s = self.run_json("leaky")
        orphans = [e for e in self.kinds(evs, "exit") if e.get("orphan")]
        self.assertEqual(len(orphans), 1, orphans)

    def test_tour_headless(self):
        p = self.run_ft("run", "tour", "--headless", "-s", "workload.seed=7", timeout=90)
        self.assertIn(p.returncode, (0, 1), p.stderr)
        self.assertIn("summary:", p.stdout)


class CommandLine(ForktopCase):
    def test_help_and_version(self):
        p = self.run_ft("--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("usage: forktop", p.stdout)
        p = self.run_ft("--version")
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"^forktop \d+\.\d+\.\d+")

    def test_list(self):
        p = self.run_ft("list")
        self.assertEqual(p.returncode, 0, p.stderr)
        names = [l.split()[0] for l in p.stdout.splitlines()]
        for w in ("tour", "queue", "pool-sleep", "crashy"):
            self.assertIn(w, names)

    def test_usage_errors(self):
        for args in (["--bogus"], ["-d", "0"], ["-d", "x"], ["-s", "novalue"], ["run", "no-such-workload"],
                     ["list", "extra"], ["replay"], ["run", "queue", "extra"], ["--speed", "-1", "replay", "x"]):
            p = self.run_ft(*args)
            self.assertEqual(p.returncode, 2, (args, p.stdout, p.stderr))
            self.assertTrue(p.stderr.startswith("forktop: "), (args, p.stderr))

    def test_options_that_do_not_apply(self):
        for args, stray in ((["--speed", "2", "run", "fork"], "--speed"),
                            (["--scan", "run", "fork"], "--scan"),
                            (["-s", "workers=2", "--", "true"], "-s/--chaos"),
                            (["--chaos", "kill-worker=1", "list"], "-s/--chaos"),
                            (["--record", "x.jsonl", "bench", "cpu-map"], "--record")):
            p = self.run_ft(*args)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(stray + " does not apply to", p.stderr)

    def test_bad_workload_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as f:
            f.write("[workload]\nname = bad\n[pool main]\nworkers = many\ntask = sleep 1s\n")
        try:
            p = self.run_ft("run", f.name, "--headless")
            self.assertEqual(p.returncode, 2)
            self.assertIn(f"{f.name}:4:", p.stderr)
            self.assertEqual(p.stdout, "")
        finally:
            os.unlink(f.name)

    def test_bad_override(self):
        p = self.run_ft("run", "queue", "--headless", "-s", "nosuchkey=1")
        self.assertEqual(p.returncode, 2)
        self.assertIn("nosuchkey", p.stderr)

    def test_exit_status_failure(self):
        with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as f:
            f.write("[workload]\nname = failing\n[pool p]\nworkers = 2\nitems = 4\ntask = fail 3\n")
        try:
            p = self.run_ft("run", f.name, "--headless")
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn("4 failed", p.stdout)
        finally:
            os.unlink(f.name)

    def test_hostile_output_is_inert(self):
        with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as f:
            f.write("[workload]\nname = hostile\n[process p]\n"
                    "run = shell printf '\\033[2J\\033]52\\;c\\;aGk=\\007\\033]0\\;owned\\007bad\\377end\\n'\n")
        try:
            p = subprocess.run([FORKTOP, "run", f.name, "--headless"], capture_output=True, env=self.env,
                               timeout=TIMEOUT)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertNotIn(b"\x1b", p.stdout)
            self.assertNotIn(b"\x07", p.stdout)
            self.assertIn(b"\\x1b[2J", p.stdout)
            p = subprocess.run([FORKTOP, "run", f.name, "--json"], capture_output=True, env=self.env,
                               timeout=TIMEOUT)
            for line in p.stdout.decode().splitlines():
                json.loads(line)
        finally:
            os.unlink(f.name)


class RecordReplay(ForktopCase):
    def test_round_trip(self):
        with tempfile.TemporaryDirectory() as d:
            rec = os.path.join(d, "rec.jsonl")
            p = self.run_ft("run", "queue", "--headless", "--record", rec, "-s", "writer.run=put q A B C pace=50ms; sleep 100ms")
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(rec) as f:
                recorded = [json.loads(l) for l in f]
            self.assertEqual(recorded[-1]["ev"], "summary")
            p = self.run_ft("replay", rec, "--json", "--speed", "0")
            self.assertEqual(p.returncode, 0, p.stderr)
            replayed = [json.loads(l) for l in p.stdout.splitlines()]
            strip = lambda evs: [e for e in evs if e["ev"] != "summary"]
            self.assertEqual(strip(replayed), strip(recorded))
            p = self.run_ft("replay", rec, "--headless", "--speed", "0")
            self.assertEqual(p.returncode, 0)
            self.assertIn("| A", p.stdout)

    def test_replay_errors(self):
        p = self.run_ft("replay", "/nonexistent/rec.jsonl")
        self.assertEqual(p.returncode, 2)
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write('{"t":0.1,"ev":"spawn","pid":5,"ppid":4,"role":"process"}\nnot json\n')
        try:
            p = self.run_ft("replay", f.name, "--speed", "0")
            self.assertEqual(p.returncode, 2)
            self.assertIn(f"{f.name}:2:", p.stderr)
        finally:
            os.unlink(f.name)


class Bench(ForktopCase):
    CPU = "[workload]\nname = short\n[pool main]\nsubmit = map\ntasks = 8\ntask = cpu 2M\n"

    def test_sweep_and_exports_agree(self):
        with tempfile.TemporaryDirectory() as d:
            wl = os.path.join(d, "short.ini")
            with open(wl, "w") as f:
                f.write(self.CPU)
            out = {k: os.path.join(d, "r." + k) for k in ("json", "csv", "md", "svg")}
            p = self.run_ft("bench", wl, "--workers", "1,2", "--runs", "2", "--warmup", "0",
                            "--export-json", out["json"], "--export-csv", out["csv"],
                            "--export-markdown", out["md"], "--export-svg", out["svg"], timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("recommended pool size:", p.stdout)
            with open(out["json"]) as f:
                j = json.load(f)
            self.assertEqual([s["workers"] for s in j["sizes"]], [1, 2])
            for s in j["sizes"]:
                self.assertEqual(len(s["times"]), 2)
                self.assertEqual(s["exit_statuses"], [0, 0])
                self.assertAlmostEqual(s["mean"], sum(s["times"]) / 2, places=9)
                self.assertEqual(s["tasks_failed"], 0)
            self.assertAlmostEqual(j["sizes"][0]["speedup"], 1.0)
            self.assertIn(j["recommended_workers"], (1, 2))
            self.assertIn("cpus", j["machine"])
            import csv
            with open(out["csv"]) as f:
                rows = list(csv.DictReader(f))
            for row, s in zip(rows, j["sizes"]):
                self.assertEqual(int(row["workers"]), s["workers"])
                self.assertAlmostEqual(float(row["mean_s"]), s["mean"], places=5)
                self.assertAlmostEqual(float(row["speedup"]), s["speedup"], places=3)
            with open(out["md"]) as f:
                md = f.read()
            self.assertIn("| 2 |", md)
            self.assertIn(f"**{j['recommended_workers']}**", md)
            import xml.etree.ElementTree as ET
            svg = ET.parse(out["svg"]).getroot()
            self.assertTrue(svg.tag.endswith("svg"))
            self.assertEqual(len([e for e in svg.iter() if e.tag.endswith("circle")]), 2)

    def test_failing_workload_is_reported(self):
        with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as f:
            f.write("[workload]\nname = bad\n[pool main]\ntasks = 2\ntask = fail 4\n")
        try:
            p = self.run_ft("bench", f.name, "--workers", "1", "--runs", "1", "--warmup", "0")
            self.assertEqual(p.returncode, 1, p.stdout)
            self.assertIn("(failed)", p.stdout)
            self.assertIn("run(s) failed", p.stdout)
        finally:
            os.unlink(f.name)

    def test_bad_workers_lists(self):
        # no fixed maximum (was 4,096): past what a pool takes is refused
        for bad in ("", "0", "a", "4..2", "1..8:0", "1,,2", "5000000", "1..x"):
            p = self.run_ft("bench", "cpu-map", "--workers", bad)
            self.assertEqual(p.returncode, 2, (bad, p.stdout))
            self.assertIn("--workers", p.stderr)
        p = self.run_ft("bench", "cpu-map", "--runs", "0")
        self.assertEqual(p.returncode, 2)
        p = self.run_ft("bench", "queue", "--workers", "1")
        self.assertEqual(p.returncode, 2)
        self.assertIn("needs a workload with a [pool NAME]", p.stderr)


class Chaos(ForktopCase):
    def test_chaos_kill_worker(self):
        """10,000 tasks while workers are SIGKILLed at random: every task ends
        done or failed, failures name the signal, workers are replaced."""
        evs, s = self.run_json("cpu-map", "-s", "tasks=10000", "-s", "task=cpu 100k", "-s", "workers=2",
                               "--chaos", "kill-worker=40", expect=1)
        fails = self.kinds(evs, "task_fail")
        replaced = self.kinds(evs, "worker_replaced", reason="died")
        self.assertEqual(s["tasks_done"] + s["tasks_failed"], 10000)
        self.assertEqual(len(self.kinds(evs, "task_done")) + len(fails), 10000)
        self.assertGreater(len(replaced), 10)
        self.assertTrue(all(f.get("signal") == "SIGKILL" for f in fails))
        # every failure is charged to a worker that was killed: the item it
        # was running, and (items under 50 us) those whose results it had not
        # yet written (README); a worker killed as the work ends is not
        # replaced, so count deaths, not replacements
        workers = {e["pid"] for e in evs if e["ev"] == "spawn" and e.get("role") == "worker"}
        dead = {e["pid"] for e in evs if e["ev"] == "exit" and e["pid"] in workers and e.get("signal") == "SIGKILL"}
        self.assertTrue({f["pid"] for f in fails} <= dead)
        tasks = sorted(e["task"] for e in evs if e["ev"] in ("task_done", "task_fail"))
        self.assertEqual(tasks, list(range(10000)))  # each task ended exactly once

    def test_chaos_usage(self):
        p = self.run_ft("run", "cpu-map", "--chaos", "explode=1")
        self.assertEqual(p.returncode, 2)
        p = self.run_ft("run", "queue", "--chaos", "kill-worker=5")  # no pool to apply it to
        self.assertEqual(p.returncode, 2)
        self.assertIn("chaos", p.stderr)


class Exhaustion(ForktopCase):
    POOL = ["-s", "main.workers=35", "-s", "main.tasks=35", "-s", "main.task=sleep 10ms"]

    def test_few_file_descriptors_fewer_workers(self):
        p = subprocess.run(["prlimit", "--nofile=24", FORKTOP, "run", "pool-sleep", "--json", *self.POOL],
                           capture_output=True, text=True, env=self.env, timeout=TIMEOUT)
        # it carries on with fewer workers, but says the work did not start as asked
        self.assertEqual(p.returncode, 1, p.stderr)
        evs = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertIn("of 35 workers", evs[-1]["error"])
        errors = [e for e in evs if e["ev"] == "error"]
        self.assertTrue(errors)
        self.assertTrue(all(e["error"] == "EMFILE" for e in errors))
        self.assertTrue(errors[0]["what"].startswith("fork worker"))  # the first failed fork
        self.assertIn("open-file limit 24 (ulimit -n)", errors[-1]["what"])  # and the limit
        self.assertEqual(evs[-1]["tasks_done"], 35)  # carried on with fewer workers
        self.assertLess(len([e for e in evs if e["ev"] == "spawn"]), 35)

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"), "needs root to drop to nobody")
    def test_no_process_allowed(self):
        # RLIMIT_NPROC binds only unprivileged users: run as nobody.  One
        # worker (35 would be refused when parsed: more than ulimit -u)
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            "prlimit", "--nproc=1", FORKTOP, "run", "pool-sleep", "--json",
                            "-s", "main.workers=1", "-s", "main.tasks=3", "-s", "main.task=sleep 0"],
                           capture_output=True, text=True, env=self.env, timeout=TIMEOUT)
        self.assertEqual(p.returncode, 1, p.stderr)
        evs = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertIn(("EAGAIN", "start the pool"),
                      [(e["error"], e["what"]) for e in evs if e["ev"] == "error"])
        self.assertEqual(evs[-1]["failed"], 1)
        self.assertEqual(evs[-1]["error"], "pool main: started 0 of 1 workers: process limit 1 (ulimit -u)")


FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "leaks.py")


class Check(ForktopCase):
    def check(self, *args, expect):
        p = self.run_ft("check", "--json", *args[:-1], "--", sys.executable, FIXTURE, *args[-1])
        self.assertEqual(p.returncode, expect, p.stderr + p.stdout)
        return json.loads(p.stdout)

    def end(self, report):
        for proc in report["leaked_processes"]:
            try:
                os.kill(proc["pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass

    def test_clean(self):
        r = self.check(["clean"], expect=0)
        self.assertEqual(r["leaks"], 0)
        self.assertEqual(r["exit_code"], 0)
        p = self.run_ft("check", "--", sys.executable, FIXTURE, "clean")
        self.assertIn("result: clean", p.stdout)

    def test_command_failure_is_reported_not_a_leak(self):
        r = self.check(["fail"], expect=0)
        self.assertEqual(r["exit_code"], 4)

    def test_double_forked_daemon(self):
        r = self.check(["daemon"], expect=3)
        self.end(r)
        [proc] = r["leaked_processes"]
        self.assertIn("leaks.py daemon", proc["cmdline"])
        self.assertTrue(proc["orphan"])
        self.assertTrue(proc["parents"].startswith("forktop("))

    def test_grandchild_outlives_parent_and_kill(self):
        r = self.check("--kill", ["grandchild"], expect=3)
        [proc] = r["leaked_processes"]
        self.assertEqual(r["killed"], [{"pid": proc["pid"], "signal": "SIGTERM"}])
        def gone():
            try:
                os.kill(proc["pid"], 0)
                return False
            except ProcessLookupError:
                return True
        self.assertTrue(wait_for(gone, timeout=5), "the killed leftover is still alive")

    def test_unreaped_child(self):
        r = self.check(["unreaped"], expect=3)
        [z] = r["zombies"]
        self.assertEqual(z["parent"], os.path.basename(sys.executable)[:15])
        self.assertGreater(z["unreaped_for"], 0.5)
        self.assertEqual(z["fate"], "parent exited; reaped by forktop")
        self.assertEqual(r["leaked_processes"], [])

    def test_shared_memory_left_behind(self):
        name = "forktop-test-" + uuid.uuid4().hex[:8]
        try:
            r = self.check(["shm", name], expect=3)
            self.assertEqual([(s["path"], s["bytes"]) for s in r["shm"]], [(f"/dev/shm/{name}", 4096)])
        finally:
            os.unlink(f"/dev/shm/{name}")

    @unittest.skipUnless(shutil.which("ipcmk"), "needs ipcmk")
    def test_sysv_ipc_left_behind(self):
        r = self.check(["sysv"], expect=3)
        [obj] = r["sysv_ipc"]
        self.assertTrue(obj["object"].startswith("shm id "))
        subprocess.run(["ipcrm", "-m", obj["object"].split()[2]], check=True)

    def test_usage(self):
        for args in (["check"], ["check", "--"], ["check", "--grace", "x", "--", "true"],
                     ["check", "extra", "--", "true"]):
            p = self.run_ft(*args)
            self.assertEqual(p.returncode, 2, args)
        p = self.run_ft("check", "--", "/nonexistent/program")
        self.assertEqual(p.returncode, 1)
        self.assertIn("No such file", p.stderr)


class Watch(ForktopCase):
    def watch_json(self, *cmd, expect=0):
        opts = [c for c in cmd if c.startswith("--")]
        cmd = [c for c in cmd if not c.startswith("--")]
        p = subprocess.run([FORKTOP, "--json", *opts, "--", *cmd], capture_output=True, text=True,
                           env=self.env, timeout=TIMEOUT)
        self.assertEqual(p.returncode, expect, p.stderr)
        evs = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertEqual(evs[-1]["ev"], "summary")
        return evs[:-1], evs[-1]

    def test_record_a_watch_and_replay_it(self):
        with tempfile.TemporaryDirectory() as d:
            rec = os.path.join(d, "w.jsonl")
            p = self.run_ft("--headless", "--record", rec, "--", "sh", "-c", "sleep 0.1 & exit 2")
            self.assertEqual(p.returncode, 2, p.stderr)
            evs = [json.loads(l) for l in open(rec)]
            self.assertEqual(evs[-1]["ev"], "summary")
            self.assertEqual(evs[-1]["exit_status"], 2)
            self.assertIn((2, None), [(e.get("code"), e.get("signal")) for e in evs if e["ev"] == "exit"])
            r = self.run_ft("replay", "--speed", "0", "--headless", rec)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("code 2", r.stdout)
            bad = self.run_ft("--record", rec, "replay", rec)
            self.assertEqual(bad.returncode, 2)
            self.assertIn("--record does not apply to replay", bad.stderr)

    @unittest.skipUnless(os.geteuid() == 0, "the process-event connector needs root")
    def test_storm_of_short_lived_processes_loses_none(self):
        evs, s = self.watch_json("sh", "-c", "for i in $(seq 1000); do /bin/true; done; exit 5", expect=5)
        self.assertEqual(s["mode"], "connector")
        shell = [e for e in evs if e["ev"] == "spawn" and e["role"] == "command"][0]["pid"]
        # a thousand /bin/true and the subshell of $(seq 1000), all children of the shell
        exits = [e for e in evs if e["ev"] == "exit" and e["ppid"] == shell]
        self.assertEqual(len(exits), 1001)
        self.assertTrue(all(e["code"] == 0 for e in exits))
        self.assertTrue(all(e.get("name") for e in exits))  # even those gone before /proc was read
        self.assertEqual(s["unknown"], 0)

    @unittest.skipUnless(os.geteuid() == 0, "the process-event connector needs root")
    def test_grandchildren_exit_codes_and_orphans(self):
        evs, s = self.watch_json("sh", "-c", "sh -c 'exit 3'; sh -c 'kill -9 $$'; (sleep 0.2; exit 4) & exit 0")
        codes = [(e.get("code"), e.get("signal")) for e in evs if e["ev"] == "exit"]
        self.assertIn((3, None), codes)
        self.assertIn((None, "SIGKILL"), codes)
        orphans = [e for e in evs if e["ev"] == "exit" and e.get("orphan")]
        self.assertEqual([o["code"] for o in orphans], [4])
        self.assertEqual(s["exit_status"], 0)

    def test_scan_mode_without_the_connector(self):
        evs, s = self.watch_json("--scan", "sh", "-c", "sleep 0.5 & sleep 0.3; exit 2", expect=2)
        self.assertEqual(s["mode"], "scan")
        names = [e.get("name") for e in evs if e["ev"] == "spawn"]
        self.assertIn("sleep", names)  # lived long enough to be seen

    def test_python_multiprocessing_unmodified(self):
        script = ("import multiprocessing as mp\n"
                  "def sq(x): return x * x\n"
                  "if __name__ == '__main__':\n"
                  "    with mp.Pool(3) as p: print(sum(p.map(sq, range(100))))\n")
        evs, s = self.watch_json(sys.executable, "-c", script)
        self.assertIn("328350", [e["line"] for e in evs if e["ev"] == "output"])
        self.assertGreaterEqual(s["processes"], 4)  # python and its three workers

    def test_attach_to_running_tree_read_only(self):
        tree = subprocess.Popen([sys.executable, "-c",
                                 "import os,time\n"
                                 "for i in range(2):\n"
                                 "    if os.fork() == 0: time.sleep(30); os._exit(0)\n"
                                 "time.sleep(30)\n"], env=self.env)
        try:
            self.assertTrue(wait_for(lambda: len(tagged_pids(self.tag)) >= 3), "the tree never forked")
            p = subprocess.Popen([FORKTOP, "--json", "-p", str(tree.pid)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=self.env)
            time.sleep(1.0)
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=20)
            self.assertEqual(p.returncode, 128 + signal.SIGINT, err)
            spawns = [json.loads(l) for l in out.splitlines() if '"ev":"spawn"' in l]
            self.assertEqual(len(spawns), 3)  # the watched root first, then its two children
            self.assertEqual(spawns[0]["pid"], tree.pid)
            self.assertTrue(all(e["ppid"] == tree.pid for e in spawns[1:]))
            self.assertIsNone(tree.poll())  # read-only: the tree lives on
        finally:
            tree.kill()
            tree.wait()
            for pid in tagged_pids(self.tag):
                os.kill(pid, signal.SIGKILL)

    def test_usage(self):
        for args in (["-p", "x"], ["-p", "1", "--", "true"], ["run", "queue", "--", "true"], ["--"]):
            p = self.run_ft(*args)
            self.assertEqual(p.returncode, 2, args)
        p = self.run_ft("-p", "999999999")
        self.assertEqual(p.returncode, 2)


class Signals(ForktopCase):
    """Each test waits, by polling, until the work it signals is really
    running (its processes exist), never for a fixed time."""

    def wait_tagged(self, pred, what):
        """Poll the test's tagged processes ({pid: comm}) until pred holds.
        The run's guardian (forktop-guard) carries the tag too but is no part
        of the workload, so it is left out."""
        def procs():
            out = {}
            for pid in tagged_pids(self.tag):
                try:
                    with open(f"/proc/{pid}/comm") as f:
                        comm = f.read().strip()
                except OSError:
                    continue
                if comm != "forktop-guard":
                    out[pid] = comm
            return out
        ok = wait_for(lambda: pred(procs()), timeout=20)
        self.assertTrue(ok, f"never saw {what}: {procs()}")

    def state(self, pid):
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]

    def test_sigterm_and_sighup(self):
        for sig in (signal.SIGTERM, signal.SIGHUP):
            p = subprocess.Popen([FORKTOP, "run", "pool-sleep", "--json", "-s", "main.task=sleep 30s"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env)
            self.wait_tagged(lambda ps: len(ps) >= 36, "forktop and its 35 workers")
            p.send_signal(sig)
            out, err = p.communicate(timeout=20)
            self.assertEqual(p.returncode, 128 + sig, err)
            summary = json.loads(out.splitlines()[-1])
            self.assertTrue(summary["interrupted"])
            exits = [json.loads(l) for l in out.splitlines() if '"ev":"exit"' in l]
            self.assertEqual(len(exits), 35)
            self.assertTrue(all(e.get("signal") == "SIGTERM" for e in exits))

    def test_child_ignoring_sigterm_gets_sigkill(self):
        with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as f:
            f.write("[workload]\nname = stubborn\n[process p]\nrun = shell trap '' TERM\\; sleep 60\n")
        try:
            p = subprocess.Popen([FORKTOP, "run", f.name, "--json"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=self.env)
            # the shell has set its trap once it runs sleep
            self.wait_tagged(lambda ps: "sleep" in ps.values(), "the stubborn shell's sleep")
            t0 = time.time()
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=20)
            self.assertEqual(p.returncode, 128 + signal.SIGINT, err)
            self.assertLess(time.time() - t0, 10)
            exits = [json.loads(l) for l in out.splitlines() if '"ev":"exit"' in l]
            # the process dies of SIGTERM; the shell under it, which ignores
            # SIGTERM, comes back to forktop as an orphan and gets SIGKILL;
            # so does its sleep (which inherits the ignored SIGTERM), dying
            # as the shell's child or as an orphan, whichever dies first
            self.assertEqual(exits[0].get("signal"), "SIGTERM")
            rest = exits[1:]
            self.assertTrue(rest)
            self.assertTrue(all(e.get("signal") == "SIGKILL" for e in rest), exits)
            self.assertEqual(len({e["pid"] for e in rest}), len(rest), exits)  # each once
            self.assertTrue(all(e.get("orphan") for e in rest if e["name"] == "sh"), exits)
        finally:
            os.unlink(f.name)

    def test_sigtstp_and_sigcont(self):
        p = subprocess.Popen([FORKTOP, "run", "process-123", "--json", "-s",
                              "counter.run=print 1; sleep 1s; print 2"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env)
        # Stop only once the counter has printed: by then forktop handles
        # SIGTSTP.  Sooner (its guard's middle process carries the tag too),
        # a SIGTSTP with its default action in a process group with no
        # parent outside it, as under CI, is dropped by the kernel.
        first = []
        for line in p.stdout:
            first.append(line)
            if '"ev":"output"' in line:
                break
        p.send_signal(signal.SIGTSTP)
        self.assertTrue(wait_for(lambda: self.state(p.pid) == "T"), "forktop did not stop")
        children = [int(c) for c in open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()]
        self.assertTrue(children, "forktop has no workload to stop")
        for c in children:
            self.assertTrue(wait_for(lambda: self.state(c) == "T"), f"child {c} did not stop")
        # Stopped, the workload must not finish: this waits on purpose for
        # longer than the counter's 1 s sleep, to show that nothing runs.
        time.sleep(1.2)
        self.assertIsNone(p.poll())
        p.send_signal(signal.SIGCONT)
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0, err)
        out = "".join(first) + out
        lines = [json.loads(l)["line"] for l in out.splitlines() if '"ev":"output"' in l]
        self.assertEqual(lines, ["1", "2"])

    def test_sigint_stops_cleanly(self):
        p = subprocess.Popen([FORKTOP, "run", "pool-sleep", "--headless", "-s", "main.task=sleep 30s"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env)
        self.wait_tagged(lambda ps: len(ps) >= 36, "forktop and its 35 workers")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 128 + signal.SIGINT, err)
        self.assertIn("interrupted", out)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
