"""`forktop check -- CMD` tells exactly the truth: a shared-memory object is
the command's leak only when a process of its tree made it (another
program's segment made during the check is never blamed), a leaked
process is shown with the ancestry it was forked with (not the one left
after reparenting), and hostile names reach the report inert.

Ground truth comes from outside forktop: the PIDs the command's shells
write to files, the segments the test itself makes, /proc.
"""
import ctypes
import json
import os
import shutil
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftcase import FORKTOP, TIMEOUT, ForktopCase, main, wait_for  # noqa: E402

IPC_PRIVATE, IPC_CREAT, IPC_RMID = 0, 0o1000, 0

# The checked command: makes a segment it leaves (argv[1]) and one it
# removes (argv[2]), a SysV segment it leaves (its id to argv[3]), says so
# (argv[4]), and waits for the test's own segment (argv[5]) to exist
# before it exits, so that the test's one is made while the check runs.
LEAKER = r"""
import ctypes, os, sys, time
leak, gone, sysv_id, ready, theirs = sys.argv[1:6]
held = os.open(leak, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
os.ftruncate(held, 4096)
fd = os.open(gone, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
os.close(fd)
os.unlink(gone)
libc = ctypes.CDLL(None, use_errno=True)
if sysv_id != "-":
    shmid = libc.shmget(0, 8192, 0o1000 | 0o600)
    with open(sysv_id, "w") as f:
        f.write(str(shmid))
with open(ready, "w") as f:
    f.write(str(os.getpid()))
deadline = time.monotonic() + 20
while not os.path.exists(theirs) and time.monotonic() < deadline:
    time.sleep(0.01)
time.sleep(0.2)  # holds its segment open a while longer: scanning sees it
os.close(held)
"""


def control_bytes(data):
    """The C0 (but newline and tab), DEL and C1 characters in data, as text."""
    text = data.decode("utf-8")  # what check prints is valid UTF-8 too
    return [c for c in text if (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F]


class TruthCheck(ForktopCase):
    def setUp(self):
        super().setUp()
        self.shm = []  # /dev/shm files to remove
        self.sysv = []  # SysV shm ids to remove
        self.libc = ctypes.CDLL(None, use_errno=True)

    def tearDown(self):
        for path in self.shm:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        for shmid in self.sysv:
            self.libc.shmctl(shmid, IPC_RMID, None)
        super().tearDown()

    def path(self, name):
        return os.path.join(self.dir, name)

    def shm_name(self, what):
        path = "/dev/shm/forktop-truth-%s-%s" % (what, uuid.uuid4().hex[:8])
        self.shm.append(path)
        return path

    def check_while(self, args, cmd, during, prefix=()):
        """Run `forktop check ARGS -- CMD`, call during() while it runs (once
        the command wrote its ready file), return (exit status, stdout bytes)."""
        p = subprocess.Popen([*prefix, FORKTOP, "check", *args, "--", *cmd], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=self.env)
        try:
            ready = wait_for(lambda: os.path.exists(self.path("ready")), timeout=20)
            if ready:
                during()
            out, err = p.communicate(timeout=TIMEOUT)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        self.assertTrue(ready, err)
        return p.returncode, out, err

    # 1. Another program's segments, made while the check runs, are not the
    # command's; the command's own left segment is, and one it removed is not.
    def run_leaker(self, leak_sysv, prefix=()):
        leak, gone, theirs = self.shm_name("leak"), self.shm_name("gone"), self.shm_name("theirs")
        their_sysv = []

        def unrelated():
            fd = os.open(theirs + ".tmp", os.O_CREAT | os.O_RDWR, 0o600)
            self.shm.append(theirs + ".tmp")
            os.ftruncate(fd, 1024)
            os.close(fd)
            shmid = self.libc.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600)
            self.assertGreaterEqual(shmid, 0)
            self.sysv.append(shmid)
            their_sysv.append(shmid)
            os.rename(theirs + ".tmp", theirs)  # the command ends once it sees this

        sysv_file = self.path("sysv") if leak_sysv else "-"
        rc, out, err = self.check_while(
            ["--json", "--grace", "0.2"],
            [sys.executable, "-c", LEAKER, leak, gone, sysv_file, self.path("ready"), theirs], unrelated, prefix)
        ours = None
        if leak_sysv:
            with open(sysv_file) as f:
                ours = int(f.read())
            self.sysv.append(ours)
        self.assertTrue(out.strip(), err.decode(errors="replace")[-3000:])
        r = json.loads(out)
        with open(self.path("ready")) as f:
            cmd_pid = int(f.read())
        return rc, r, leak, gone, theirs, ours, their_sysv[0], cmd_pid

    def test_unrelated_shm_is_not_blamed(self):
        rc, r, leak, gone, theirs, ours, their_sysv, cmd_pid = self.run_leaker(leak_sysv=True)
        self.assertEqual([s["path"] for s in r["shm"]], [leak])
        self.assertEqual(rc, 3, r)
        self.assertEqual(r["exit_status"], 3)
        self.assertEqual([(s["path"], s["bytes"], s["pid"]) for s in r["shm"]], [(leak, 4096, cmd_pid)])
        self.assertEqual([(o["object"].split()[2], o["pid"]) for o in r["sysv_ipc"]], [(str(ours), cmd_pid)])
        self.assertEqual(r["leaks"], 2)
        self.assertEqual(r["shm_evidence"], "creator")
        seen = json.dumps([r["shm"], r["sysv_ipc"], r["not_attributed"]])
        self.assertNotIn(gone, seen)
        others = [o["object"] for o in r["not_attributed"]]
        self.assertIn(theirs, others)
        self.assertIn("shm id %d " % their_sysv, " ".join(o + " " for o in others))
        for o in r["not_attributed"]:
            self.assertNotIn(o["object"], [s["path"] for s in r["shm"]])

    def test_clean_command_with_unrelated_shm_is_clean(self):
        # the command leaves nothing (it removes what it made, and the test
        # removes "leak" before it ends): exit 0 although segments appeared
        leak, gone, theirs = self.shm_name("leak"), self.shm_name("gone"), self.shm_name("theirs")
        clean = LEAKER + "\nos.unlink(leak)\n"

        def unrelated():
            fd = os.open(theirs, os.O_CREAT | os.O_RDWR, 0o600)
            os.close(fd)

        rc, out, err = self.check_while(
            ["--json", "--grace", "0.2"],
            [sys.executable, "-c", clean, leak, gone, "-", self.path("ready"), theirs], unrelated)
        r = json.loads(out)
        self.assertEqual(rc, 0, r)
        self.assertEqual((r["leaks"], r["shm"], r["exit_status"]), (0, [], 0))
        self.assertIn(theirs, [o["object"] for o in r["not_attributed"]])
        self.assertFalse(os.path.exists(leak))

    # 2. A double fork: the shown chain is CMD > sh > sleep, as the shells
    # wrote it, although sleep now belongs to forktop.  Run several times:
    # the fork, the middle shell's exit and the reparenting race.
    def double_fork(self, prefix=()):
        """Run the double fork under check; yield (report's leaked process,
        the pids the shells wrote, forktop's pid) for each of several runs."""
        d = self.dir
        script = ('sh -c "sleep 30 & echo \\$! > %s/sleep.pid; echo \\$\\$ > %s/sh.pid"; echo $$ > %s/cmd.pid'
                  % (d, d, d))
        for run in range(6):
            p = subprocess.Popen([*prefix, FORKTOP, "check", "--json", "--kill", "--grace", "0.2", "--", "sh", "-c",
                                  script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env)
            out, err = p.communicate(timeout=TIMEOUT)
            self.assertEqual(p.returncode, 3, err)
            r = json.loads(out)
            pids = {}
            for k in ("cmd", "sh", "sleep"):
                with open(os.path.join(d, k + ".pid")) as f:
                    pids[k] = int(f.read())
            [leaked] = r["leaked_processes"]
            self.assertEqual(leaked["pid"], pids["sleep"])
            self.assertEqual(leaked["comm"], "sleep")
            self.assertEqual(r["killed"], [{"pid": pids["sleep"], "signal": "SIGTERM"}])
            self.assertTrue(wait_for(lambda: not os.path.exists("/proc/%d" % pids["sleep"]), timeout=5))
            yield r, leaked, pids, p.pid

    def test_double_fork_chain_is_the_real_one(self):
        for r, leaked, pids, ft in self.double_fork():
            self.assertEqual(leaked["ppid"], ft, "sleep's parent now is forktop")
            # (the names of the exited shells are the watch's to know: a
            # shell that exits before its exec is read keeps its parent's)
            self.assertRegex(leaked["parents"],
                             r"^forktop\(%d\) > [^ ]+\(%d\) \[exited\] > [^ ]+\(%d\) \[exited\] > "
                             r"sleep\(%d\) \[reparented to forktop\(%d\)\]$"
                             % (ft, pids["cmd"], pids["sh"], pids["sleep"], ft))
            self.assertEqual(leaked["real_ppid"], pids["sh"])
            self.assertEqual([(c["pid"], c["exited"]) for c in leaked["chain"]],
                             [(pids["cmd"], True), (pids["sh"], True), (pids["sleep"], False)])
            self.assertEqual(leaked["chain"][-1]["reparented_to"], ft)
            self.assertEqual(r["watch"], "connector")

    # Without the connector and fanotify (an unprivileged user namespace):
    # a parent that exited before any scan is said to be unknown, never
    # replaced by forktop; a segment is the command's when its processes
    # were seen holding it, and another program's still is not.
    def test_scanning_only_says_what_it_cannot_know(self):
        prefix = ["unshare", "--user", "--map-root-user"]
        if not shutil.which("unshare") or subprocess.run([*prefix, "true"]).returncode != 0:
            self.skipTest("needs unshare --user")
        for r, leaked, pids, ft in self.double_fork(prefix):
            self.assertNotEqual(leaked.get("real_ppid"), ft, leaked["parents"])
            self.assertNotEqual(leaked["parents"], "forktop(%d) > sleep(%d)" % (ft, pids["sleep"]))
            self.assertEqual(r["watch"], "scan")
            if leaked["real_ppid"] is None:
                self.assertTrue(leaked["parents"].startswith(
                    "forktop(%d) > ?(real parent unseen" % ft), leaked["parents"])
            else:
                self.assertEqual(leaked["real_ppid"], pids["sh"])
        rc, r, leak, gone, theirs, ours, their_sysv, cmd_pid = self.run_leaker(True, prefix)
        self.assertEqual(r["shm_evidence"], "holder")
        self.assertEqual([(s["path"], s["pid"]) for s in r["shm"]], [(leak, cmd_pid)])
        self.assertEqual([o["object"].split()[2] for o in r["sysv_ipc"]], [str(ours)])
        self.assertIn(theirs, [o["object"] for o in r["not_attributed"]])
        self.assertEqual(rc, 3)

    # 3. A leaked process and a segment with hostile names: the report, as
    # text and as JSON, holds no raw ESC, BEL, C1 or other control byte,
    # and still names them.
    def test_hostile_names_reach_the_report_inert(self):
        hostile = "\x1b]0;pwned\x07\u009b2J"  # OSC title, then CSI (C1) clear screen
        prog = os.path.join(self.dir, hostile)
        with open("/bin/sleep", "rb") as src, open(prog, "wb") as dst:
            dst.write(src.read())
        os.chmod(prog, 0o755)
        seg = "/dev/shm/" + hostile + uuid.uuid4().hex[:8]
        self.shm.append(seg)
        script = ('"$0" 30 & echo $! > %s/sleep.pid; : > "$1"' % self.dir)
        for mode in ([], ["--json"]):
            p = subprocess.run([FORKTOP, "check", *mode, "--kill", "--grace", "0.2", "--", "sh", "-c", script,
                                prog, seg], capture_output=True, env=self.env, timeout=TIMEOUT)
            self.assertEqual(p.returncode, 3, p.stderr)
            self.assertEqual(control_bytes(p.stdout), [], p.stdout)
            self.assertNotIn(b"\x1b", p.stdout)
            self.assertNotIn(b"\x07", p.stdout)
            with open(os.path.join(self.dir, "sleep.pid")) as f:
                pid = int(f.read())
            self.assertTrue(wait_for(lambda: not os.path.exists("/proc/%d" % pid), timeout=5))
            os.unlink(seg)
            text = p.stdout.decode()
            if mode:
                r = json.loads(text)
                [leaked] = r["leaked_processes"]
                self.assertEqual(leaked["pid"], pid)
                self.assertIn("pwned", leaked["comm"])
                self.assertIn("pwned", leaked["cmdline"])
                self.assertIn("pwned", leaked["parents"])
                [s] = r["shm"]
                self.assertIn("pwned", s["path"])
                self.assertEqual(control_bytes(json.dumps(r, ensure_ascii=False).encode()), [])
            else:
                self.assertIn("pid %d " % pid, text)
                self.assertIn("pwned", text)
                self.assertIn("result: 2 leaks (exit status 3)", text)


if __name__ == "__main__":
    main()
