"""Ground truth of which processes a tree had, from the kernel, not forktop.

A pid is not a process: with pid_max 32768 a busy machine reuses one
within seconds, and a test that writes /proc/sys/kernel/ns_last_pid
(test_truth_audit, test_slurm) makes the next fork anywhere on the
machine take a pid freed a moment ago.  Then one run of a watched tree
really has two processes with one pid, and forktop must tell both.  A
test tells that apart from forktop telling one process twice by asking
the kernel: ForkTruth listens to the process-event connector (root only)
while forktop runs, and counts the forks and exits of each pid within
the tree under forktop.  WatchCase is the test case that does so: its
watch runs forktop with a ForkTruth beside it, and its assert_once lets a
pid be told n times only where the kernel's record has n processes of it.
"""
import collections
import contextlib
import json
import os
import socket
import struct
import threading
import time

from ftcase import ForktopCase

ROOT = os.geteuid() == 0  # the process-event connector (and taskstats) need root

NETLINK_CONNECTOR, CN_IDX_PROC, CN_VAL_PROC = 11, 1, 1
PROC_CN_MCAST_LISTEN, PROC_CN_MCAST_IGNORE = 1, 2
EV_FORK, EV_EXIT = 0x1, 0x80000000
SO_RCVBUFFORCE = 33


class ForkTruth:
    """`with ForkTruth() as t:` run forktop inside; then t.tree(pid) is
    (forks, exits): Counters by pid of the processes under pid (forktop's
    own), each fork and exit the kernel made.  t.lost: messages were
    dropped, the truth is incomplete."""

    def __init__(self):
        self.events = []  # (ts, kind, pid, ppid)
        self.lost = False
        self.sock = None

    def _op(self, op):
        cn = struct.pack("=IIIIHH", CN_IDX_PROC, CN_VAL_PROC, 0, 0, 4, 0) + struct.pack("=I", op)
        self.sock.send(struct.pack("=IHHII", 16 + len(cn), 3, 0, 0, os.getpid()) + cn)

    def __enter__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_CONNECTOR)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
        self.sock.bind((0, CN_IDX_PROC))
        self.sock.settimeout(0.05)
        self._op(PROC_CN_MCAST_LISTEN)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_ns = time.monotonic_ns()  # the connector's clock
        self.stop.set()
        self.thread.join()
        self._op(PROC_CN_MCAST_IGNORE)
        self.sock.close()
        return False

    def _read(self):
        # After stop, what was queued before it is read too (forktop has
        # exited, so every message of its tree was), and no more: a busy
        # machine's messages never leave the socket empty.
        while True:
            try:
                d = self.sock.recv(65536, socket.MSG_DONTWAIT if self.stop.is_set() else 0)
            except (socket.timeout, BlockingIOError):
                if self.stop.is_set():
                    return
                continue
            except OSError:  # ENOBUFS: the kernel dropped messages
                self.lost = True
                continue
            off = 16 + 20  # nlmsghdr, cn_msg
            while off + 16 <= len(d):
                what, _cpu, ts = struct.unpack_from("=IIQ", d, off)
                if self.stop.is_set() and ts > self.stop_ns:
                    return
                b = off + 16
                if what == EV_FORK:
                    _ppid, ptgid, cpid, ctgid = struct.unpack_from("=iiii", d, b)
                    if cpid == ctgid:
                        self.events.append((ts, "fork", ctgid, ptgid))
                elif what == EV_EXIT:
                    pid, tgid = struct.unpack_from("=ii", d, b)
                    if pid == tgid:
                        self.events.append((ts, "exit", tgid, 0))
                break  # one event a message

    def tree(self, root):
        """(forks, exits) by pid, of the processes below root, in time order."""
        live, forks, exits = {root}, collections.Counter(), collections.Counter()
        for _ts, kind, pid, ppid in sorted(self.events):
            if kind == "fork" and ppid in live:
                live.add(pid)
                forks[pid] += 1
            elif kind == "exit" and pid in live and pid != root:
                live.discard(pid)
                exits[pid] += 1
        return forks, exits


class WatchCase(ForktopCase):
    """A watch-mode test (`forktop --json -- CMD`, `-p PID`, `--scan`) that
    checks each process is told once against the kernel's own record.
    self.truth is that record of the last run (ForkTruth.tree), or None
    (not root, no run recorded, or the record lost messages)."""

    def setUp(self):
        super().setUp()
        self.truth = None

    def recording(self):
        """A context to run forktop in: as root a listening ForkTruth (pass
        it to keep_truth after the run), else None."""
        self.truth = None
        return ForkTruth() if ROOT else contextlib.nullcontext()

    def keep_truth(self, t, root):
        """Keep, as self.truth, what t (from recording) saw of the tree
        under root, forktop's pid; None where t is None or lost messages."""
        self.truth = t.tree(root) if t is not None and not t.lost else None

    def watch(self, *args, expect=0, stdin=None, timeout=60):
        """forktop --json ARGS, recorded: its events (without the start
        event) and summary."""
        with self.recording() as t:
            p = self.run_ft("--json", *args, stdin=stdin, timeout=timeout)
        evs, s = self.json_events(p, expect)
        self.keep_truth(t, json.loads(p.stdout.split("\n", 1)[0])["pid"])
        return evs, s

    def assert_once(self, evs, what, every_spawn_exits=False):
        """Each process spawned at most once and exits at most once; returns
        {pid: exit} (a reused pid's last).  A pid is told twice only where
        the kernel's own record (self.truth) has two processes with that pid
        in the tree: a busy machine, or a test writing ns_last_pid, may hand
        a pid freed a moment ago to the next fork (seen in a suite run: gcc
        pid 1100 of make exits, 58 ms later an `as` forked by another gcc is
        pid 1100; the connector's record has both forks and both exits).
        Without a record every pid is told once.  Every exit is of a
        process spawned; with every_spawn_exits, every one spawned exits."""
        spawns = collections.Counter(e["pid"] for e in evs if e["ev"] == "spawn")
        exits = collections.Counter(e["pid"] for e in evs if e["ev"] == "exit")
        forks, ends = self.truth or (collections.Counter(), collections.Counter())
        self.assertEqual([p for p, n in spawns.items() if n > max(1, forks[p])], [],
                         what + ": spawned twice")
        self.assertEqual([p for p, n in exits.items() if n > max(1, ends[p])], [],
                         what + ": exited twice")
        for p in [p for p, n in spawns.items() if n > 1]:  # each one's spawn before its exit
            told = [e["ev"] for e in evs if e.get("pid") == p and e["ev"] in ("spawn", "exit")]
            self.assertEqual(told[:2 * len(told) // 2], ["spawn", "exit"] * (len(told) // 2),
                             (what, p, told))
        if every_spawn_exits:
            self.assertEqual(set(exits), set(spawns), what + ": spawns and exits differ")
        self.assertEqual(set(exits) - set(spawns), set(), what + ": exits of processes never spawned")
        return {e["pid"]: e for e in evs if e["ev"] == "exit"}
