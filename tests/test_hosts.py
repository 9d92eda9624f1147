"""Pools across hosts, as events and on screen (issue 16): with `hosts =
tcp` (workers that connect back over loopback TCP), the stream has one
`host` event for the host the workers come from, a remote `spawn` for each
worker with its launcher's pid, task events keyed by (host, pid), a remote
`exit` for each, and `hosts` in the summary.

Ground truth from outside forktop: each task's shell writes its worker's
pid ($PPID) to a file.  The remote pid of a tcp worker is, by
construction, also a live local pid (its launcher's): the two must be two
processes in the stream, never one.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftcase import ForktopCase, main  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "hosts.jsonl")


class Hosts(ForktopCase):

    def test_json_keyed_by_host(self):
        d = self.dir
        wl = self.workload("[workload]\nname = h\n[pool p]\nhosts = tcp\nworkers = 3\n"
                           "chunksize = 1\nsubmit = map\nitems = 9\n"
                           "task = shell echo $PPID > %s/{}.pid; crash SIGKILL 20%%\n" % d)
        evs, s = self.run_json(wl, expect=1)
        hosts = self.kinds(evs, "host")
        self.assertEqual(len(hosts), 1, hosts)
        h = hosts[0]
        self.assertEqual((h["host"], h["name"], h["address"], h["launcher"], h["state"]),
                         (1, "127.0.0.1", "127.0.0.1", "tcp", "up"))
        local = {e["pid"] for e in evs if e["ev"] == "spawn" and e.get("role") == "worker"
                 and "host" not in e}
        remote = [e for e in evs if e["ev"] == "spawn" and "host" in e]
        self.assertTrue(remote)
        for e in remote:
            self.assertEqual((e["host"], e["role"], e["ppid"]), (1, "worker", 0))
            self.assertIn(e["launcher_pid"], local)
            self.assertEqual(e["pid"], e["launcher_pid"])  # tcp: the launcher execs the worker
        # the hello comes after the host event, which comes once
        self.assertLess(evs.index(h), evs.index(remote[0]))
        # every task event names its worker by (host 1, its pid there), as
        # the task's own shell saw it
        truth = {}
        for i in range(9):
            path = os.path.join(d, "%d.pid" % i)
            if os.path.exists(path):
                with open(path) as f:
                    truth[i] = int(f.read())
        self.assertEqual(len(truth), 9)
        for e in evs:
            if e["ev"].startswith("task_") and e.get("worker", -1) >= 0:
                self.assertEqual(e.get("host"), 1, e)
                self.assertEqual(e["pid"], truth[e["item"]], e)
        failed = [e for e in evs if e["ev"] == "task_fail"]
        self.assertTrue(failed, "the seeded crash crashed nothing")
        # each remote worker exits once, on its host, as its launcher did
        rexits = {e["pid"]: e for e in evs if e["ev"] == "exit" and e.get("host") == 1}
        lexits = {e["pid"]: e for e in evs if e["ev"] == "exit" and "host" not in e
                  and e["pid"] in local}
        self.assertEqual(set(rexits), {e["pid"] for e in remote})
        for pid, e in rexits.items():
            self.assertEqual(e.get("signal"), lexits[pid].get("signal"))
            self.assertEqual(e.get("code"), lexits[pid].get("code"))
            self.assertEqual(e.get("requested"), lexits[pid].get("requested"))
        self.assertTrue(any(e.get("signal") == "SIGKILL" for e in rexits.values()))
        # the summary: local processes count their launchers only; hosts
        self.assertEqual(s["processes"],
                         len([e for e in evs if e["ev"] == "spawn" and "host" not in e]))
        self.assertEqual(s["hosts"], [{"host": 1, "name": "127.0.0.1", "launcher": "tcp",
                                       "state": "up", "processes": len(remote),
                                       "exited": len(remote),
                                       "failed": len([e for e in rexits.values()
                                                      if ("signal" in e and "requested" not in e)
                                                      or e.get("code")])}])

    def test_local_pool_has_no_hosts(self):
        wl = self.workload("[workload]\nname = l\n[pool p]\nworkers = 2\nitems = 4\n"
                           "task = sleep 1ms\n")
        evs, s = self.run_json(wl)
        self.assertFalse([e for e in evs if "host" in e or e["ev"] == "host"])
        self.assertNotIn("hosts", s)
        json.dumps(s)

    # A recording of a run on two Slurm nodes (host, stat, remote spawns
    # with step ids, a lost host, a remote pid equal to a local one) plays
    # back: as JSON line for line, headless with each remote process named
    # by its host, and counted apart from the local ones.
    def test_replay_fixture(self):
        with open(FIXTURE) as f:
            lines = f.read().splitlines()
        p = self.run_ft("replay", FIXTURE, "--json", "--speed", "0")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.splitlines()  # the replay's own start line, then the events
        self.assertEqual(json.loads(out[0])["ev"], "start")
        self.assertEqual(out[1:], lines[:-1])
        p = self.run_ft("replay", FIXTURE, "--headless", "--speed", "0")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout
        self.assertRegex(out, r"host +node2 +LOST \(slurm job 77\): no heartbeat for 4 s")
        self.assertRegex(out, r"spawn +p +pid 5001 on host 1 ppid 0 \(worker 0\)")
        self.assertRegex(out, r"spawn +p +pid 5001 ppid 5000 \(worker 0\)")
        self.assertRegex(out, r"FAILED +p +task 2 on pid 233 on host 2: worker died \(SIGKILL\)")
        self.assertIn("summary (replayed): 3 processes (3 exited, 1 failed) and 4 on other hosts, "
                      "6 tasks done, 1 failed", out)


if __name__ == "__main__":
    main()
