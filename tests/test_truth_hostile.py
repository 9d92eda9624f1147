"""Hostile names and files: nothing a child, a workload file or a recording
says can drive the terminal, a bare name runs only a shipped workload, files
forktop writes never write through a symlink, and unbounded inputs are
bounded errors.  Also the headless printer: lines in time order, and every
queue's final counts in the summary.

The hostile names are real: a process exec'd through a symlink named with
an OSC sequence, a bidi override and a C1 control (its comm and command
line), a Python process renaming itself with prctl(PR_SET_NAME), a workload
whose name and description carry the same, output with all of them.  The
check is on the bytes that reach stdout and stderr: valid UTF-8, no ESC, no
BEL, no other C0 control but newline and tab, no DEL, no C1 code point, no
bidi control.
"""
import fcntl
import json
import os
import pty
import re
import resource
import select
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftcase import FORKTOP, TIMEOUT, WORKLOADS, ForktopCase, main  # noqa: E402

LINK_NAME = b"\x1b]0;T\x07\xe2\x80\xae\xc2\x9b"  # OSC title, U+202E, U+009B (CSI)
PRCTL_NAME = b"\x1b]52;c;aGk=\x07\x9b"  # OSC 52 (clipboard), a raw C1 byte
OUTPUT = (b"out \x1b]0;owned\x07 \x1b]52;c;aGk=\x07 \xc2\x9b31m \x9b \xe2\x80\xae \xe2\x81\xa6 "
          b"\x7f\r end\n")
WL_NAME = b"evil\x1b]0;title\x07\xe2\x80\xae\xc2\x9d"
WL_DESC = b"d \x1b]52;c;aGk=\x07 \xc2\x9b \x9b \xe2\x81\xa6 \x1b[2J"
BIDI = set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A)) | {0x061C, 0x200E, 0x200F,
                                                                  0x2028, 0x2029}

# The child: renames itself, forks a child that execs /bin/sleep through the
# hostile symlink, writes hostile output, waits.
EVIL_PY = r'''
import ctypes, os, sys, time
link = os.path.join(os.path.dirname(os.path.abspath(__file__)).encode(), %r)
pid = os.fork()
if pid == 0:
    os.execv(link, [link, b"0.3"])
ctypes.CDLL(None).prctl(15, %r, 0, 0, 0)
sys.stdout.buffer.write(%r)
sys.stdout.flush()
sys.stderr.buffer.write(%r)
sys.stderr.flush()
time.sleep(0.4)
os.waitpid(pid, 0)
''' % (LINK_NAME, PRCTL_NAME, OUTPUT, OUTPUT)


with open(FORKTOP, "rb") as _f:
    ASAN = b"__asan_init" in _f.read()


def limit_memory():
    """In the child: at most 1 GiB of address space, so an unbounded read
    fails fast instead of eating the machine (an ASan build reserves far
    more address space than that: it gets hard_rss_limit_mb instead)."""
    if not ASAN:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def bounded_env(env):
    """env for a run that must stay in bounded memory, whatever the build."""
    opts = env.get("ASAN_OPTIONS", "")
    return dict(env, ASAN_OPTIONS=(opts + ":" if opts else "") + "hard_rss_limit_mb=1024")


class Hostile(ForktopCase):
    def setUp(self):
        super().setUp()
        d = self.dir.encode()
        os.symlink("/bin/sleep", os.path.join(d, LINK_NAME))
        self.evil_py = os.path.join(self.dir, "evil.py")
        with open(self.evil_py, "w") as f:
            f.write(EVIL_PY)
        self.wl = os.path.join(self.dir, "evil.ini")
        with open(self.wl, "wb") as f:
            f.write(b"[workload]\nname = " + WL_NAME + b"\ndescription = " + WL_DESC +
                    b"\n[process q]\nrun = exec " + sys.executable.encode() + b" " +
                    self.evil_py.encode() + b"\n")


    def ft(self, *args, env=None, **kw):
        """forktop's result with bytes out."""
        return subprocess.run([FORKTOP, *args], capture_output=True, env=env or self.env,
                              timeout=kw.pop("timeout", TIMEOUT), **kw)

    def assert_inert(self, data, what):
        """data (bytes for a terminal) holds nothing that drives one."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            self.fail(f"{what}: not valid UTF-8 ({e}): {data[max(0, e.start - 40):e.end + 40]!r}")
        for i, ch in enumerate(text):
            cp = ord(ch)
            bad = (cp < 0x20 and ch not in "\n\t") or cp == 0x7F or 0x80 <= cp <= 0x9F or cp in BIDI
            if bad:
                self.fail(f"{what}: raw U+{cp:04X} at {i}: {text[max(0, i - 60):i + 20]!r}")

    def assert_json_inert(self, data, what):
        """data is JSON lines, each an object, with nothing raw a terminal acts on."""
        self.assert_inert(data, what)
        objs = [json.loads(line) for line in data.decode().splitlines()]
        self.assertTrue(objs, what)
        return objs

    # ------------------------------------------------------------ headless

    def test_run_headless_and_summary(self):
        p = self.ft("run", self.wl, "--headless")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_inert(p.stdout, "headless stdout")
        self.assert_inert(p.stderr, "headless stderr")
        out = p.stdout.decode()
        # what was hostile is there, made visible
        self.assertIn("| out \\x1b]0;owned\\x07 \\x1b]52;c;aGk=\\x07 \\u{9b}31m \\x9b \\u{202e}", out)
        self.assertIn("running evil\\x1b]0;title\\x07\\u{202e}\\u{9d} (", out)
        self.assertIn("summary: evil\\x1b]0;title\\x07\\u{202e}\\u{9d}: ", out)
        self.assertTrue("\\x1b]0;T\\x07\\u{202e}\\u{9b}" in out or "\\x1b]52;c;aGk=\\x07\\x9b" in out,
                        "no hostile process name was shown:\n" + out)

    def test_watch_headless(self):
        p = self.ft("--headless", "--", sys.executable, self.evil_py)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_inert(p.stdout, "watch stdout")
        self.assert_inert(p.stderr, "watch stderr")
        self.assertIn("\\x1b]0;owned\\x07", p.stdout.decode())

    # ---------------------------------------------------------------- JSON

    def test_json_stream(self):
        p = self.ft("run", self.wl, "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        evs = self.assert_json_inert(p.stdout, "run --json")
        self.assertEqual(evs[-1]["workload"], WL_NAME.decode())  # escaped, not lost
        want = "out \x1b]0;owned\x07 \x1b]52;c;aGk=\x07 \u009b31m \ufffd \u202e"
        lines = [e["line"] for e in evs if e["ev"] == "output"]
        self.assertTrue(any(line.startswith(want) for line in lines), lines)
        names = {e.get("name", "").encode() for e in evs}
        self.assertTrue(LINK_NAME in names or any(n.startswith(PRCTL_NAME[:8]) for n in names),
                        names)
        p = self.ft("--json", "--", sys.executable, self.evil_py)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_json_inert(p.stdout, "watch --json")

    # -------------------------------------------------------------- replay

    def test_replay_of_a_hostile_recording(self):
        rec = os.path.join(self.dir, "rec.jsonl")
        p = self.ft("run", self.wl, "--headless", "--record", rec)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(rec, "rb") as f:
            self.assert_json_inert(f.read(), "the recording")
        p = self.ft("replay", rec, "--headless", "--speed", "0")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_inert(p.stdout, "replay stdout")
        self.assert_inert(p.stderr, "replay stderr")
        self.assertIn("\\x1b]0;owned\\x07", p.stdout.decode())
        p = self.ft("replay", rec, "--json", "--speed", "0")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_json_inert(p.stdout, "replay --json")

    # --------------------------------------------------------------- bench

    def test_bench_and_its_exports(self):
        wl = os.path.join(self.dir, "b.ini")
        with open(wl, "wb") as f:
            f.write(b"[workload]\nname = " + WL_NAME + b" <&\"\xff\n[pool p]\ntasks = 2\n"
                    b"task = sleep 0\n")
        out = {k: os.path.join(self.dir, "out." + k) for k in ("json", "csv", "markdown", "svg")}
        args = [a for k, v in out.items() for a in ("--export-" + k, v)]
        p = self.ft("bench", wl, "--workers", "1", "--runs", "1", "--warmup", "0", *args)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_inert(p.stdout, "bench stdout")
        self.assert_inert(p.stderr, "bench stderr")
        files = {}
        for k, v in out.items():
            with open(v, "rb") as f:
                files[k] = f.read()
            self.assert_inert(files[k], "the %s export" % k)
        self.assertIn(b"evil\\x1b]0;title\\x07\\u{202e}\\u{9d}", files["markdown"])
        import xml.etree.ElementTree as ET
        title = "".join(ET.fromstring(files["svg"]).itertext())
        self.assertIn("evil\\x1b]0;title\\x07\\u{202e}\\u{9d} <&\"\\xff", title)
        self.assertTrue(json.loads(files["json"])["workload"].startswith("evil"))

    # ---------------------------------------------------------------- list

    def test_list(self):
        shipped = os.path.join(self.dir, "shipped")
        os.mkdir(shipped)
        shutil.copy(self.wl, shipped)
        with open(os.path.join(shipped.encode(), b"bad\x1b]0;x\x07\xc2\x9b.ini"), "wb") as f:
            f.write(b"[pool \x1b]0;y\x07]\ntask = \x1b]52;c;aGk=\x07\n")
        env = dict(self.env, FORKTOP_WORKLOADS=shipped)
        p = self.ft("list", env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_inert(p.stdout, "list stdout")
        self.assert_inert(p.stderr, "list stderr")
        out = p.stdout.decode()
        self.assertIn("evil\\x1b]0;title\\x07\\u{202e}\\u{9d} d \\x1b]52;c;aGk=\\x07", out)
        self.assertIn("bad\\x1b]0;x\\x07\\u{9b}.ini (does not parse: ", out)

    # ------------------------------------------- the summary after the dashboard

    def dashboard(self, *args):
        """Run forktop with a dashboard in a pseudo-terminal, press q once the
        work is done; its exit status and every byte it wrote."""
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 110, 0, 0))
        env = dict(self.env, TERM="xterm", LANG="C.UTF-8", LC_ALL="C.UTF-8")
        p = subprocess.Popen([FORKTOP, *args], stdin=slave, stdout=slave, stderr=slave,
                             env=env, start_new_session=True)
        os.close(slave)
        data = b""
        deadline = time.monotonic() + 30
        next_q = time.monotonic() + 2.0  # the work takes half a second; then q leaves
        try:
            while time.monotonic() < deadline:
                r, _, _ = select.select([master], [], [], 0.1)
                if r:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:
                        break
                    if not chunk:
                        break
                    data += chunk
                if p.poll() is not None and not r:
                    break
                if time.monotonic() > next_q and p.poll() is None:
                    os.write(master, b"q")
                    next_q = time.monotonic() + 1.0
        finally:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)
            os.close(master)
        return p.returncode, data

    def test_dashboard_and_its_summary(self):
        rc, data = self.dashboard("run", self.wl)
        self.assertEqual(rc, 0, data[-2000:])
        # curses draws with escapes of its own; none of the hostile ones
        for seq in (b"\x1b]0;T", b"\x1b]52", b"\x1b]0;owned", b"\x1b]0;title", b"\xc2\x9b",
                    b"\xc2\x9d", b"\xe2\x80\xae", b"\xe2\x81\xa6"):
            self.assertNotIn(seq, data)
        i = data.rfind(b"summary: ")
        self.assertGreaterEqual(i, 0, data[-2000:])
        line = data[i:].split(b"\n")[0].rstrip(b"\r")
        self.assert_inert(line, "the summary after the dashboard")
        self.assertIn(b"summary: evil\\x1b]0;title\\x07\\u{202e}\\u{9d}: ", line)


    def test_summary_after_the_dashboard_has_queue_counts(self):
        rc, data = self.dashboard("run", "pipeline")
        self.assertEqual(rc, 0, data[-2000:])
        self.assertIn(b"queue jobs: 100 puts, 100 gets, 0 left", data[data.rfind(b"summary: ") - 400:])

class Lookup(ForktopCase):
    """A bare name is a shipped workload, never a file in the current directory."""



    def planted(self, name, marker):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write("[workload]\nname = planted\n[process p]\nrun = shell touch %s\n" % marker)

    def test_bare_name_is_never_the_cwd_file(self):
        marker = os.path.join(self.dir, "RAN")
        self.planted("pipeline", marker)
        p = subprocess.run([FORKTOP, "run", "pipeline", "--headless"], capture_output=True,
                           text=True, env=self.env, cwd=self.dir, timeout=TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertFalse(os.path.exists(marker), "the file in the cwd was run")
        self.assertIn("running pipeline (%s/pipeline.ini)" % WORKLOADS, p.stdout)

    def test_plain_forktop_runs_the_shipped_default(self):
        marker = os.path.join(self.dir, "RAN")
        self.planted("tour", marker)
        shipped = os.path.join(self.dir, "shipped")
        os.mkdir(shipped)
        with open(os.path.join(shipped, "tour.ini"), "w") as f:
            f.write("[workload]\nname = tour\n[process p]\nrun = print the shipped tour\n")
        env = dict(self.env, FORKTOP_WORKLOADS=shipped)
        p = subprocess.run([FORKTOP, "--headless"], capture_output=True, text=True, env=env,
                           cwd=self.dir, timeout=TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertFalse(os.path.exists(marker), "the file named tour in the cwd was run")
        self.assertIn("the shipped tour", p.stdout)

    def test_a_path_says_so(self):
        marker = os.path.join(self.dir, "RAN")
        self.planted("mine", marker)
        run = lambda *a: subprocess.run([FORKTOP, "run", *a, "--headless"], capture_output=True,
                                        text=True, env=self.env, cwd=self.dir, timeout=TIMEOUT)
        p = run("mine")
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("no workload named 'mine'", p.stderr)
        self.assertFalse(os.path.exists(marker))
        p = run("pipeline.ini")  # a path, not the shipped pipeline
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("no file 'pipeline.ini' here", p.stderr)
        p = run("./mine")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.exists(marker))
        os.unlink(marker)
        self.planted("mine.ini", marker)
        p = run("mine.ini")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.exists(marker))

    def test_installed_binary_does_not_read_the_source_tree(self):
        if not shutil.which("strace"):
            self.skipTest("strace is not installed")
        env = {k: v for k, v in self.env.items() if k != "FORKTOP_WORKLOADS"}
        env["ASAN_OPTIONS"] = "detect_leaks=0"  # LeakSanitizer cannot run under ptrace

        def traced(binary):
            trace = os.path.join(self.dir, "trace")
            p = subprocess.run(["strace", "-f", "-e", "trace=%file", "-o", trace, binary, "list"],
                               capture_output=True, text=True, env=env, timeout=TIMEOUT)
            with open(trace, errors="replace") as f:
                return p, f.read()

        # the binary in its build tree lists its source tree's workloads
        p, seen = traced(FORKTOP)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("tour", p.stdout)
        opened = re.findall(r'open(?:at)?\((?:AT_FDCWD, )?"([^"]*/workloads)", [^)]*O_DIRECTORY', seen)
        self.assertTrue(opened, seen)
        # a copy elsewhere (as installed) never looks there
        copy = os.path.join(self.dir, "bin", "forktop")
        os.mkdir(os.path.dirname(copy))
        shutil.copy(FORKTOP, copy)
        p, seen = traced(copy)
        self.assertIn(copy, seen.split("\n")[0])  # the trace is of the copy
        self.assertNotIn(opened[0], seen)


class SafeFiles(ForktopCase):
    """--record and the bench exports never write through a symlink."""



    def victim(self, name):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write("secret\n")
        os.chmod(path, 0o600)
        return path

    def assert_untouched(self, victim, link):
        with open(victim) as f:
            self.assertEqual(f.read(), "secret\n")
        self.assertEqual(stat.S_IMODE(os.stat(victim).st_mode), 0o600)
        st = os.lstat(link)
        self.assertTrue(stat.S_ISREG(st.st_mode), "the symlink is still there")
        umask = os.umask(0)
        os.umask(umask)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o644 & ~umask)
        self.assertGreater(st.st_size, 0)

    def test_record_through_a_symlink(self):
        victim = self.victim("victim")
        link = os.path.join(self.dir, "rec.jsonl")
        os.symlink(victim, link)
        dangling = os.path.join(self.dir, "rec2.jsonl")
        os.symlink(os.path.join(self.dir, "created-through-link"), dangling)
        for rec in (link, dangling):
            p = self.ft_run("run", "pipeline", "--headless", "--record", rec)
            self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_untouched(victim, link)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "created-through-link")))
        with open(link) as f:
            evs = [json.loads(line) for line in f]
        self.assertEqual(evs[-1]["ev"], "summary")
        self.assertEqual(sorted(os.listdir(self.dir)),
                         ["rec.jsonl", "rec2.jsonl", "victim"])  # no temporary file left
        # what is not a regular file is written as it is
        p = self.ft_run("run", "pipeline", "--headless", "--record", "/dev/null")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(stat.S_ISCHR(os.stat("/dev/null").st_mode))
        p = self.ft_run("run", "pipeline", "--headless", "--record", self.dir)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--record %s: " % self.dir, p.stderr)

    def test_watch_record_and_joblog_through_a_symlink(self):
        # the same for a watch's --record and map's --joblog
        for i, args in enumerate((["--headless", "--record", None, "--", "true"],
                                  ["map", "--headless", "--joblog", None, "--", "true", ":::", "a"])):
            victim = self.victim("victim%d" % i)
            link = os.path.join(self.dir, "out%d" % i)
            os.symlink(victim, link)
            p = self.ft_run(*[link if a is None else a for a in args])
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assert_untouched(victim, link)
            with open(link) as f:
                self.assertTrue(f.read(), "nothing written to the new file")

    def test_record_where_no_new_file_can_be_made(self):
        # a user may not create files in the directory, but the target is
        # theirs: it is rewritten in place; a symlink there is refused
        setpriv = shutil.which("setpriv")
        if os.geteuid() != 0 or not setpriv:
            self.skipTest("needs root (to run forktop as another user) and setpriv")
        os.chmod(self.dir, 0o755)
        nobody = 65534
        mine = os.path.join(self.dir, "mine.jsonl")
        with open(mine, "w") as f:
            f.write("old\n" * 1000)
        os.chown(mine, nobody, nobody)
        victim = self.victim("victim")
        link = os.path.join(self.dir, "link.jsonl")
        os.symlink(victim, link)
        os.chown(victim, nobody, nobody, follow_symlinks=True)
        as_nobody = [setpriv, "--reuid=%d" % nobody, "--regid=%d" % nobody, "--clear-groups"]
        p = subprocess.run([*as_nobody, FORKTOP, "run", "pipeline", "--headless", "--record", mine],
                           capture_output=True, text=True, env=self.env, timeout=TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(mine) as f:
            evs = [json.loads(line) for line in f]
        self.assertEqual(evs[-1]["ev"], "summary")
        p = subprocess.run([*as_nobody, FORKTOP, "run", "pipeline", "--headless", "--record", link],
                           capture_output=True, text=True, env=self.env, timeout=TIMEOUT)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--record %s: Permission denied" % link, p.stderr)
        with open(victim) as f:
            self.assertEqual(f.read(), "secret\n")

    def test_bench_exports_through_symlinks(self):
        wl = os.path.join(self.dir, "b.ini")
        with open(wl, "w") as f:
            f.write("[workload]\nname = b\n[pool p]\ntasks = 4\ntask = sleep 0\n")
        args = []
        pairs = []
        for opt in ("json", "csv", "markdown", "svg"):
            victim = self.victim("victim-" + opt)
            link = os.path.join(self.dir, "out." + opt)
            os.symlink(victim, link)
            pairs.append((victim, link))
            args += ["--export-" + opt, link]
        p = self.ft_run("bench", wl, "--workers", "1", "--runs", "1", "--warmup", "0", *args)
        self.assertEqual(p.returncode, 0, p.stderr)
        for victim, link in pairs:
            self.assert_untouched(victim, link)

    def ft_run(self, *args):
        return subprocess.run([FORKTOP, *args], capture_output=True, text=True, env=self.env,
                              timeout=TIMEOUT, stdin=subprocess.DEVNULL)


class Bounded(ForktopCase):
    """Items files and recordings with no end are errors, in bounded memory."""



    def run_items(self, items, stdin=subprocess.DEVNULL):
        wl = os.path.join(self.dir, "w.ini")
        with open(wl, "w") as f:
            f.write("[workload]\nname = items\n[pool p]\nitems = %s\ntask = sleep 0\n" % items)
        return wl, subprocess.run([FORKTOP, "run", wl, "--headless"], capture_output=True,
                                  text=True, env=bounded_env(self.env), timeout=TIMEOUT,
                                  stdin=stdin, preexec_fn=limit_memory)

    def test_items_file_with_no_end(self):
        # streamed: its first line passes the bound of a line, in bounded
        # memory; nothing ran, and the run says why and does not succeed
        wl, p = self.run_items("@/dev/zero")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("ERROR    p                cannot read items file /dev/zero: line 1 is "
                      "longer than 1048576 bytes", p.stdout)
        self.assertIn("0 tasks", p.stdout)
        self.assertRegex(p.stdout + p.stderr, r"did not run as asked: pool p: cannot read items "
                         r"file /dev/zero: line 1 is longer than \d+ bytes\n")
        with open("/dev/zero") as zero:
            wl, p = self.run_items("-", stdin=zero)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertRegex(p.stdout + p.stderr, r"pool p: cannot read items from stdin: line 1 is "
                         r"longer than \d+ bytes")

    def test_items_file_that_cannot_be_read(self):
        wl, p = self.run_items("@" + self.dir)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("%s:4: items file %s: Is a directory" % (wl, self.dir), p.stderr)
        self.assertNotIn("summary", p.stdout)  # nothing ran

    def test_replay_with_no_end(self):
        p = subprocess.run([FORKTOP, "replay", "/dev/zero", "--headless"], capture_output=True,
                           text=True, env=bounded_env(self.env), timeout=TIMEOUT,
                           preexec_fn=limit_memory)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertRegex(p.stderr, r"/dev/zero:1: a line longer than \d+ bytes")
        p = subprocess.run([FORKTOP, "replay", self.dir, "--headless"], capture_output=True,
                           text=True, env=self.env, timeout=TIMEOUT)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("Is a directory", p.stderr)


class Printer(ForktopCase):
    """The headless printer: lines go forward in time; queues' final counts."""

    TIME = re.compile(r"^\[ *(\d+\.\d+)\] ")

    def times(self, out):
        return [float(m.group(1)) for m in map(self.TIME.match, out.splitlines()) if m]

    def test_pipeline_final_counts(self):
        p = self.run_ft("run", "pipeline", "--headless")
        self.assertEqual(p.returncode, 0, p.stderr)
        # 2 producers put 50 each; every item goes through both queues
        self.assertRegex(p.stdout, r"\nqueue jobs: 100 puts, 100 gets, 0 left")
        self.assertRegex(p.stdout, r"\nqueue results: 100 puts, 100 gets, 0 left")

    def test_lines_in_time_order(self):
        # a pool's task records are stamped by its workers and arrive after
        # the loop's own events: the order they are printed in must be the
        # order of the times they show, every run
        rec = tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False)
        rec.close()
        try:
            for i in range(6):
                p = self.run_ft("run", "pool-map", "--headless", "--record", rec.name)
                self.assertEqual(p.returncode, 0, p.stderr)
                t = self.times(p.stdout)
                self.assertGreater(len(t), 50)
                back = [(a, b) for a, b in zip(t, t[1:]) if b < a]
                self.assertEqual(back, [], "run %d: lines go back in time" % i)
            p = self.run_ft("replay", rec.name, "--headless", "--speed", "0")
            self.assertEqual(p.returncode, 0, p.stderr)
            t = self.times(p.stdout)
            self.assertGreater(len(t), 50)
            self.assertEqual([(a, b) for a, b in zip(t, t[1:]) if b < a], [], "replay")
        finally:
            os.unlink(rec.name)


if __name__ == "__main__":
    main()
