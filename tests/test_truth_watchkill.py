"""Nothing `forktop -- CMD` starts outlives forktop, whatever kills it, and
it ends as from a terminal that closes: every process of the command's
tree (setsid'd or reparented ones too) gets SIGHUP first, and what ignores
it is killed after a grace.  A tree forktop only watches (-p PID) is not
its own: killing forktop leaves it running.

Ground truth from outside forktop: the test's tag in /proc/*/environ, and
files the command's processes write themselves.
"""
import os
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftcase import FORKTOP, ForktopCase, comm_of, kill_quietly, main, tagged_pids, wait_for  # noqa: E402


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")[:-1]
    except OSError:
        return []


class TruthWatchKill(ForktopCase):
    def start(self, cmd, sleeps, env=None):
        """forktop -- sh -c CMD, until `sleeps` tagged `sleep 100` are up."""
        p = subprocess.Popen([FORKTOP, "--json", "--", "sh", "-c", cmd], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=env or self.env)

        def up():
            pids = [q for q in tagged_pids(self.tag) if q != p.pid]
            return p.poll() is not None or \
                len([q for q in pids if cmdline(q) == [b"sleep", b"100"]]) >= sleeps
        self.assertTrue(wait_for(up, timeout=10), "the command did not come up")
        self.assertIsNone(p.poll(), "forktop ended early")
        return p

    def kill_and_check(self, p, within):
        t0 = time.monotonic()
        p.kill()
        p.wait(timeout=10)
        gone = wait_for(lambda: not tagged_pids(self.tag), timeout=within, step=0.005)
        left = [(q, comm_of(q), cmdline(q)) for q in tagged_pids(self.tag)]
        self.assertTrue(gone, "left behind %.1f s after SIGKILL: %s" % (within, left))
        return time.monotonic() - t0

    def kill_tagged(self):
        """SIGKILL to every process of the test's tag but this one."""
        for q in tagged_pids(self.tag):
            if q != os.getpid():
                kill_quietly(q)

    def each_way(self):
        yield "cgroup", self.env
        yield "no cgroup", dict(self.env, FORKTOP_NO_CGROUP="1")

    def kill_rounds(self, cmd, sleeps, rounds, hups=None):
        """`rounds` times each way (with and without a cgroup): forktop --
        sh -c CMD started (start), killed, and its whole tree gone within
        2.5 s; and, given hups, the tree's own trap wrote "hup" there once
        (the file is removed before each round)."""
        for how, env in self.each_way():
            for i in range(rounds):
                with self.subTest(how=how, round=i):
                    if hups and os.path.exists(hups):
                        os.unlink(hups)
                    p = self.start(cmd, sleeps, env)
                    self.kill_and_check(p, 2.5)
                    if hups:
                        with open(hups) as f:
                            self.assertEqual(f.read(), "hup\n")

    # The sleeps get no SIGHUP from the kernel (only forktop's own child
    # does); the setsid'd one is in a session of its own.
    def test_sigkill_ends_the_whole_tree(self):
        self.kill_rounds("sleep 100 & setsid sleep 100 & wait", 2, 5)

    # What the tree hears is a hangup, as from a terminal that closes: a
    # setsid'd grandchild that handles SIGHUP says so itself.
    def test_the_tree_is_hung_up(self):
        hups = os.path.join(self.dir, "hups")
        script = os.path.join(self.dir, "hup.sh")
        with open(script, "w") as f:
            f.write('trap \'echo hup >> "%s"; exit 0\' HUP\nsleep 100 &\nwait\n' % hups)
        self.kill_rounds("setsid sh %s & wait" % script, 1, 1, hups)

    # The command, forktop's own child, is hung up by the kernel as forktop
    # dies (its parent death signal): the guardian does not hang it up a
    # second time (before: two SIGHUPs, each counted by the command's trap,
    # the second a few ms after the first).  After its first hangup the
    # command waits half a second for another, then exits.
    def test_the_command_is_hung_up_once(self):
        hups = os.path.join(self.dir, "hups")
        script = os.path.join(self.dir, "count.sh")
        with open(script, "w") as f:
            f.write('exec 2>/dev/null\nn=0\ntrap \'echo hup >> "%s"; n=$((n + 1))\' HUP\n'
                    'while [ $n = 0 ]; do sleep 100 & wait $!; done\n'
                    'sleep 0.5 & wait $!\n' % hups)
        self.kill_rounds("exec sh %s" % script, 1, 5, hups)

    # A forktop inside a forktop, without cgroups: the inner run's guardian
    # was forked by the inner forktop and carries the outer run's tag in
    # its environment.  The outer guardian must not take it for one of the
    # outer run's processes: killed, it could not end the inner run, whose
    # processes carry the inner tag only (before: the inner `sleep` left
    # behind, in most rounds).
    def test_a_run_inside_a_run_without_cgroups(self):
        env = dict(self.env, FORKTOP_NO_CGROUP="1")
        inner = "%s --json -- sh -c \"trap '' HUP TERM; sleep 100\" >/dev/null 2>&1" % FORKTOP
        for i in range(6):
            with self.subTest(round=i):
                p = self.start("%s & wait" % inner, 1, env)
                try:
                    self.kill_and_check(p, 8)
                finally:
                    self.kill_tagged()

    # What ignores SIGHUP is killed once the grace is over.
    def test_what_ignores_sighup_is_killed(self):
        for how, env in self.each_way():
            with self.subTest(how=how):
                p = self.start("trap '' HUP; setsid sleep 100 & sleep 100 & wait", 2, env)
                took = self.kill_and_check(p, 4.5)
                self.assertGreater(took, 1.5, "killed before the hangup's grace")

    # A guardian still at its run's hangup when a later forktop gets its
    # forktop's pid must leave that forktop's run alone (before: it found
    # the run's processes by a cgroup named forktop-<pid>, which the later
    # forktop's guardian had made again, and hung up the later forktop and
    # its command).  The guardian is held stopped while the pid is handed
    # on (ns_last_pid, root only), then let go.
    def test_a_guardian_leaves_a_later_forktop_of_its_pid_alone(self):
        if os.geteuid() != 0 or not os.access("/proc/sys/kernel/ns_last_pid", os.W_OK):
            self.skipTest("needs root (ns_last_pid)")
        hups = os.path.join(self.dir, "hups")
        script = os.path.join(self.dir, "hup.sh")
        with open(script, "w") as f:
            f.write('trap \'echo hup >> "%s"; exit 0\' HUP\nsleep 100 &\nwait\n' % hups)
        first = self.start("exec sleep 100", 1)
        with open("/proc/%d/cgroup" % first.pid) as f:
            if "/forktop-" not in f.read():
                first.kill()
                first.wait()
                self.skipTest("no cgroup for the run")
        guards = [q for q in tagged_pids(self.tag) if comm_of(q) == "forktop-guard"]
        self.assertEqual(len(guards), 1, guards)
        gfd = os.pidfd_open(guards[0])
        later = None
        try:
            os.kill(guards[0], signal.SIGSTOP)
            pid = first.pid
            first.kill()
            first.wait(timeout=10)
            self.assertTrue(wait_for(lambda: not [q for q in tagged_pids(self.tag)
                                                  if cmdline(q) == [b"sleep", b"100"]], timeout=5))
            for _ in range(200):
                with open("/proc/sys/kernel/ns_last_pid", "w") as f:
                    f.write(str(pid - 1))
                later = subprocess.Popen([FORKTOP, "--json", "--", "sh", script],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         env=self.env)
                if later.pid == pid:
                    break
                later.kill()
                later.wait(timeout=10)
                later = None
            if later is None:
                self.skipTest("pid %d not handed on" % pid)
            self.assertTrue(wait_for(lambda: [q for q in tagged_pids(self.tag)
                                              if cmdline(q) == [b"sleep", b"100"]], timeout=10))
            os.kill(guards[0], signal.SIGCONT)
            poller = select.poll()
            poller.register(gfd, select.POLLIN)
            self.assertTrue(poller.poll(10000), "the first run's guardian did not end")
            self.assertIsNone(later.poll(), "the later forktop was ended")
            self.assertFalse(os.path.exists(hups), "the later run was hung up")
        finally:
            os.kill(guards[0], signal.SIGCONT)
            os.close(gfd)
            if later is not None:
                self.kill_and_check(later, 4.5)

    # forktop -p PID watches a tree that is not its own: killing forktop
    # leaves it alone.  The tree is taken once it has settled (both sleeps
    # executed: until then a child's command line reads "sh", then
    # "setsid", and reads empty in the middle of an exec), and held by
    # pidfds, which become readable when their process ends: before, a
    # tree caught still starting read as "touched" once its setsid'd child
    # went on to execute setsid, which no one had signalled.
    def test_sigkill_leaves_a_watched_pid_alone(self):
        for i in range(3):
            with self.subTest(round=i):
                self.watch_and_kill()

    def watch_and_kill(self):
        tree = subprocess.Popen(["sh", "-c", "sleep 100 & setsid sleep 100 & wait"], env=self.env,
                                stdout=subprocess.DEVNULL, start_new_session=True)
        fds = []
        try:
            def sleeps():
                return [q for q in tagged_pids(self.tag) if cmdline(q) == [b"sleep", b"100"]]
            self.assertTrue(wait_for(lambda: len(sleeps()) == 2, timeout=10), "the tree did not come up")
            before = sorted([tree.pid] + sleeps())
            fds = [os.pidfd_open(q) for q in before]
            self.assertEqual(sorted([tree.pid] + sleeps()), before, "the tree changed as it was taken")
            p = subprocess.Popen([FORKTOP, "--json", "-p", str(tree.pid)], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, env=self.env)
            p.stdout.readline()  # watching
            p.kill()
            p.wait(timeout=10)
            p.stdout.close()
            # Nothing ends within the time a guardian would take.
            poller = select.poll()
            for fd in fds:
                poller.register(fd, select.POLLIN)
            ended = poller.poll(1500)
            self.assertEqual(ended, [], "the watched tree was touched: %s ended"
                             % [before[fds.index(fd)] for fd, _ in ended])
        finally:
            for fd in fds:
                os.close(fd)
            self.kill_tagged()
            tree.wait(timeout=10)

if __name__ == "__main__":
    main()
