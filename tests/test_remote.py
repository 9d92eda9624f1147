"""A pool with `hosts = tcp`: its workers are separate `forktop worker`
processes that connect back over loopback TCP (the path remote hosts will
take).  Every task's result is right and the same as with `hosts = local`;
a worker SIGKILLed mid-task fails only its task and is replaced; nothing
is left running, open or listening; a worker whose pool goes away leaves;
the workload's parse errors.

Ground truth from outside forktop: the tasks' shells write their worker's
PID, command line, environment and /proc/net/tcp to files; /proc after.
"""
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftcase import FORKTOP, ForktopCase, main, wait_for  # noqa: E402


def listening_ports():
    """Ports in LISTEN state on 127.0.0.1 (from /proc/net/tcp)."""
    ports = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            local, st = line.split()[1], line.split()[3]
            if st == "0A":
                ports.add(int(local.split(":")[1], 16))
    return ports


class Remote(ForktopCase):


    def outcomes(self, evs):
        """task -> (ev, status, signal) of its last outcome."""
        out = {}
        for e in evs:
            if e["ev"] in ("task_done", "task_fail"):
                out[e["task"]] = (e["ev"], e.get("status"), e.get("signal"))
        return out

    # Results are right, the same as local; the workers really are
    # `forktop worker --connect 127.0.0.1:PORT` children that do not pass
    # their token on; the port listened during the run and not after it.
    def test_results_match_local(self):
        d = self.dir
        text = ("[workload]\nname = r\n[pool p]\nhosts = HOSTS\nworkers = 3\nsubmit = SUBMIT\n"
                "items = 24\ntask = cpu 200; print item {} done; "
                "shell tr '\\0' ' ' < /proc/$PPID/cmdline > DIR/{}.cmd && "
                "env > DIR/{}.env && cat /proc/net/tcp > DIR/{}.tcp; fail 3 10%\n")
        for submit in ("map", "imap_unordered", "apply_async"):
            res = {}
            for hosts in ("local", "tcp"):
                wl = self.workload(text.replace("HOSTS", hosts).replace("SUBMIT", submit)
                                   .replace("DIR", d))
                p = self.run_ft("run", wl, "--json")
                self.assertIn(p.returncode, (0, 1), p.stderr)
                evs, s = self.json_events(p, expect=p.returncode)
                res[hosts] = (self.outcomes(evs), sorted(self.output_lines(evs)),
                              s["exit_status"])
                if hosts == "tcp":
                    cmds = {open(os.path.join(d, f)).read().strip() for f in os.listdir(d)
                            if f.endswith(".cmd")}
                    ports = set()
                    for c in cmds:
                        self.assertRegex(c, r"forktop worker --connect 127\.0\.0\.1:\d+$")
                        ports.add(int(c.rsplit(":", 1)[1]))
                    self.assertEqual(len(ports), 1, cmds)
                    port = ports.pop()
                    self.assertIn("%04X" % port, open(os.path.join(d, "0.tcp")).read())
                    self.assertNotIn(port, listening_ports(), "still listening after the run")
                    for f in os.listdir(d):
                        if f.endswith(".env"):
                            self.assertNotIn("FORKTOP_TOKEN", open(os.path.join(d, f)).read())
                for f in os.listdir(d):
                    if f[0].isdigit():
                        os.unlink(os.path.join(d, f))
            self.assertEqual(len(res["tcp"][0]), 24)
            self.assertEqual(res["tcp"], res["local"], submit)
            failed = [t for t, o in res["tcp"][0].items() if o[0] == "task_fail"]
            self.assertTrue(failed, "the seeded fail 3 10% failed nothing")
            self.assertEqual(res["tcp"][2], 1)

    # A worker SIGKILLed mid-task: only its task fails, with the signal; the
    # worker is replaced; the rest finishes; exit 1, no hang.  Three times.
    def test_kill_mid_task(self):
        d = self.dir
        wl = self.workload("[workload]\nname = k\n[pool p]\nhosts = tcp\nworkers = 2\n"
                           "chunksize = 1\nsubmit = map\ntasks = 8\n"
                           "task = shell echo $PPID > %s/pid.{}.tmp && mv %s/pid.{}.tmp %s/pid.{}; "
                           "sleep 300ms\n" % (d, d, d))
        for victim in (1, 4, 6):
            for f in os.listdir(d):
                if f.startswith("pid."):
                    os.unlink(os.path.join(d, f))
            proc = subprocess.Popen([FORKTOP, "run", wl, "--json"], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, env=self.env)
            path = os.path.join(d, "pid.%d" % victim)
            self.assertTrue(wait_for(lambda: os.path.exists(path), timeout=20))
            with open(path) as f:
                pid = int(f.read())
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                self.assertIn(b"worker", f.read())
            os.kill(pid, signal.SIGKILL)
            out, err = proc.communicate(timeout=30)
            evs, s = self.json_events(subprocess.CompletedProcess([], proc.returncode, out, err),
                                      expect=1)
            o = self.outcomes(evs)
            self.assertEqual(o[victim], ("task_fail", "FT_EWORKER", "SIGKILL"), o)
            self.assertEqual({t for t, v in o.items() if v[0] == "task_done"},
                             set(range(8)) - {victim})
            rep = self.kinds(evs, "worker_replaced")
            self.assertEqual([r["old_pid"] for r in rep], [pid])
            self.assertEqual(s["exit_status"], 1)

    # Workers that crash at random (crashy.ini, seeded): the same tasks fail,
    # with SIGKILL, as with hosts = local, and the rest is done.
    def test_crashy_same_as_local(self):
        res = {}
        for hosts in ("local", "tcp"):
            p = self.run_ft("run", os.path.join(self.env["FORKTOP_WORKLOADS"], "crashy.ini"),
                            "-s", "main.hosts=" + hosts, "--json")
            evs, s = self.json_events(p, expect=1)
            res[hosts] = self.outcomes(evs)
            self.assertEqual(len(res[hosts]), 60)
        self.assertEqual(res["tcp"], res["local"])
        self.assertTrue(any(v == ("task_fail", "FT_EWORKER", "SIGKILL") for v in res["tcp"].values()))

    # A worker that falls silent (SIGSTOPped: no heartbeat) is killed once
    # the heartbeat has passed: its task fails with SIGKILL, it is replaced,
    # the run finishes.
    def test_missed_heartbeat(self):
        d = self.dir
        wl = self.workload("[pool p]\nhosts = tcp\nheartbeat = 1s\nworkers = 2\nchunksize = 1\n"
                           "submit = map\ntasks = 4\n"
                           "task = shell echo $PPID > %s/pid.{}.tmp && mv %s/pid.{}.tmp %s/pid.{}; "
                           "sleep 200ms\n" % (d, d, d))
        proc = subprocess.Popen([FORKTOP, "run", wl, "--json"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env)
        path = os.path.join(d, "pid.1")
        self.assertTrue(wait_for(lambda: os.path.exists(path), timeout=20))
        with open(path) as f:
            pid = int(f.read())
        os.kill(pid, signal.SIGSTOP)
        t0 = time.monotonic()
        out, err = proc.communicate(timeout=30)
        evs, s = self.json_events(subprocess.CompletedProcess([], proc.returncode, out, err),
                                  expect=1)
        o = self.outcomes(evs)
        self.assertEqual(o[1], ("task_fail", "FT_EWORKER", "SIGKILL"), o)
        self.assertEqual({t for t, v in o.items() if v[0] == "task_done"}, {0, 2, 3})
        self.assertEqual([r["old_pid"] for r in self.kinds(evs, "worker_replaced")], [pid])
        self.assertGreater(time.monotonic() - t0, 0.7)  # not before the heartbeat passed

    # A worker whose pool is gone (the connection dropped) leaves at once,
    # even in the middle of a long task; one refused by its pool leaves too.
    def test_worker_leaves_when_connection_drops(self):
        wl = "[pool p]\nhosts = tcp\nitems = 1\ntask = sleep 30\n"
        for refuse in (False, True):
            srv = socket.socket()
            srv.bind(("127.0.0.1", 0))
            srv.listen(1)
            port = srv.getsockname()[1]
            env = dict(self.env, FORKTOP_TOKEN="ab" * 32)
            w = subprocess.Popen([FORKTOP, "worker", "--connect", "127.0.0.1:%d" % port],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            c, _ = srv.accept()
            hello = b""
            while len(hello) < 56:
                hello += c.recv(56 - len(hello))
            ln, typ, ver, pid = struct.unpack("<IIII", hello[:16])
            self.assertEqual((ln, typ, pid), (56, 1, w.pid))
            self.assertEqual(hello[16:48], bytes.fromhex("ab" * 32))
            self.assertEqual(hello[48:], b"\xff" * 8)  # no Slurm job or step here
            if not refuse:
                blob = b"w.ini\0" + wl.encode() + b"\0"
                pad = b"\0" * (-len(blob) % 8)
                c.sendall(struct.pack("<IIIIII", 24 + len(blob) + len(pad), 2, 0, 0, 3000,
                                      len(blob)) + blob + pad)
                arg = struct.pack("<II", 0, 0) + b"0"
                item = struct.pack("<II", len(arg), 0) + arg + b"\0" * (-len(arg) % 8)
                name = b"forktop.task".ljust(16, b"\0")
                c.sendall(struct.pack("<IIQIIII", 32 + 16 + len(item), 3, 0, 0, 1, 12, 0)
                          + name + item)
                start = c.recv(24)
                self.assertEqual(struct.unpack("<II", start[:8]), (24, 4))
            t0 = time.monotonic()
            c.close()
            srv.close()
            w.communicate(timeout=10)
            self.assertLess(time.monotonic() - t0, 3, "the worker lingered")
            self.assertEqual(w.returncode, 1)

    # The token never reaches argv or the JSON stream.
    def test_token_not_in_argv_or_json(self):
        wl = self.workload("[pool p]\nhosts = tcp\nworkers = 2\nitems = 4\n"
                           "task = shell tr '\\0' '\\n' < /proc/$PPID/environ "
                           "| grep FORKTOP_TOKEN= || true\n")
        p = self.run_ft("run", wl, "--json")
        evs, s = self.json_events(p)
        # erased in place too (what /proc shows): only zeros are left
        self.assertEqual(self.output_lines(evs), ["FORKTOP_TOKEN=" + "0" * 64] * 4)
        self.assertEqual({t for t in re.findall(r"[0-9a-f]{64}", p.stdout)}, {"0" * 64})

    # Parse-time errors, file:line, exit 2.
    def test_parse_errors(self):
        cases = [
            ("hosts = slurm:0", "slurm:0"),
            ("hosts = mpi:2", "not a known launcher"),
            ("hosts = slurm:x", "expected slurm:N"),
            ("hosts = ssh", "is not one of local, tcp, slurm:N"),
            ("bind = 0.0.0.0.1", "not an IPv4 address"),
            ("heartbeat = 1ms", "100ms or more"),
        ]
        for line, msg in cases:
            wl = self.workload("[pool p]\nitems = 2\ntask = cpu 1\n%s\n%s\n"
                               % (line, "hosts = tcp" if "hosts" not in line else ""))
            p = self.run_ft("run", wl, "--headless")
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("%s:4:" % wl, p.stderr)
            self.assertIn(msg, p.stderr)
        wl = self.workload("[pool p]\nitems = 2\ntask = cpu 1\nbind = 127.0.0.1\n")
        p = self.run_ft("run", wl, "--headless")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("%s:4: bind: applies only to hosts = tcp" % wl, p.stderr)
        wl = self.workload("[pool p]\nitems = 2\ntask = cpu 1\nhosts = tcp\nslurm_args = -p x\n")
        p = self.run_ft("run", wl, "--headless")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("%s:5: slurm_args: applies only to hosts = slurm:N" % wl, p.stderr)
        wl = self.workload("[queue q]\n[pool p]\nhosts = slurm:2\nitems = 2\ntask = get q\n")
        p = self.run_ft("run", wl, "--headless")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("%s:5: task: a pool with hosts = slurm:N cannot use queue steps" % wl,
                      p.stderr)
        wl = self.workload("[queue q]\n[pool p]\nhosts = tcp\nitems = 2\ntask = put q 1\n")
        p = self.run_ft("run", wl, "--headless")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("%s:5:" % wl, p.stderr)
        self.assertIn("queue steps", p.stderr)
        p = self.run_ft("worker", "--connect", "127.0.0.1:1")
        self.assertEqual(p.returncode, 2)
        self.assertIn("FORKTOP_TOKEN", p.stderr)

    # Quick tasks: each worker is sent up to 16 chunks ahead of its results
    # (one chunk a task here).  Workers SIGKILLed at random (seeded) while
    # others wait in their windows, and workers recycled every 7 tasks:
    # the same outcomes as local, every task exactly once, no hang.
    def test_deep_window_same_as_local(self):
        for extra, expect in (("task = cpu 1k; crash SIGKILL 2%\n", 1),
                              ("task = cpu 1k\nmaxtasksperchild = 7\n", 0)):
            res = {}
            for hosts in ("local", "tcp"):
                wl = self.workload("[workload]\nname = d\n[pool p]\nhosts = %s\nworkers = 3\n"
                                   "submit = map\nchunksize = 1\ntasks = 1500\n%s"
                                   % (hosts, extra))
                p = self.run_ft("run", wl, "--json")
                evs, s = self.json_events(p, expect=expect)
                res[hosts] = self.outcomes(evs)
                self.assertEqual(len(res[hosts]), 1500)
                done = [e["task"] for e in evs if e["ev"] in ("task_done", "task_fail")]
                self.assertEqual(sorted(done), list(range(1500)), "a task reported twice")
            self.assertEqual(res["tcp"], res["local"], extra)


if __name__ == "__main__":
    main()
