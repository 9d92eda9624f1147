"""The headless printer's task lines, checked exactly (they are built by
hand, not by printf): every task has one start and one done line, with its
number and the pid of the worker that ran it (ground truth outside
forktop: each task's shell writes its parent's pid, $PPID, to a file named
by the task's item), and the lines' times never go back.  A replay of the
run's recording prints each task line's time as the recording's clock so
far, rounded half up to the millisecond, and each run time as the
recorded one rounded alike, to the digit.  Every exec has its line, also
one whose command line forktop could not read before the process went
(the line then names the program alone; it was dropped, 1 run in 20)."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftcase import ForktopCase, main  # noqa: E402

STAMP = re.compile(r"^\[ *(\d+\.\d{3})\] ")
TASK = re.compile(r"^\[ *(\d+\.\d{3})\] (start {4}|done {5})(p {15}) task (\d+) on pid (\d+)"
                  r"(?: in (\d+\.\d{3}) s)?$")


def ms3(us):
    """Microseconds as seconds with three decimals, rounded half up."""
    ms = us // 1000 + (1 if us % 1000 >= 500 else 0)
    return "%d.%03d" % (ms // 1000, ms % 1000)


def task_lines(text):
    return [m.groups() for m in map(TASK.match, text.splitlines()) if m]


class HeadlessLines(ForktopCase):
    N = 60

    def test_task_lines_true_and_replayed_to_the_digit(self):
        d = self.dir
        wl = self.workload("[pool p]\nworkers = 3\nitems = %d\nchunksize = 1\n"
                           "task = sleep 0..3ms; shell echo $PPID > %s/t.{}\n" % (self.N, d))
        rec = os.path.join(d, "rec.jsonl")
        p = self.run_ft("run", wl, "--headless", "--record", rec)
        self.assertEqual(p.returncode, 0, p.stderr + p.stdout[-2000:])
        stamps = [float(m.group(1)) for m in map(STAMP.match, p.stdout.splitlines()) if m]
        self.assertGreater(len(stamps), 2 * self.N)
        self.assertEqual(stamps, sorted(stamps), "a line's time went back")
        lines = task_lines(p.stdout)
        starts = {int(t): int(pid) for _, kind, _, t, pid, _ in lines if kind.startswith("start")}
        dones = {int(t): int(pid) for _, kind, _, t, pid, dur in lines
                 if kind.startswith("done") and dur}
        self.assertEqual(len(lines), 2 * self.N, p.stdout[-3000:])
        self.assertEqual(sorted(starts), list(range(self.N)))
        self.assertEqual(starts, dones)
        # the task number is the item here (one map): its shell's parent
        for t, pid in starts.items():
            with open(os.path.join(d, "t.%d" % t)) as f:
                self.assertEqual(int(f.read()), pid, "task %d" % t)

        # the replay: times from the recording, to the digit
        with open(rec) as f:
            evs = [json.loads(line) for line in f]
        want, last = [], 0
        for e in evs:
            if e["ev"] in ("start", "summary", "queue"):
                continue
            last = max(last, round(e["t"] * 1e6))
            if e["ev"] in ("task_start", "task_done"):
                dur = ms3(round(e["dur"] * 1e6)) if e["ev"] == "task_done" else None
                want.append((ms3(last), e["ev"][5:], e["task"], e["pid"], dur))
        r = self.run_ft("replay", "--headless", "--speed", "0", rec)
        self.assertEqual(r.returncode, 0, r.stderr)
        got = [(ts, kind.strip(), int(t), int(pid), dur)
               for ts, kind, _, t, pid, dur in task_lines(r.stdout)]
        self.assertEqual(got, want)
        self.assertEqual(len({dur for *_, dur in want if dur}) > 1, True, "every run time alike")

        # every exec told has its line, live and replayed, with its command
        # line when known; without one (forktop read it too late: made so
        # here by taking it out of the recording) the program alone
        execs = [e for e in evs if e["ev"] == "exec"]
        self.assertEqual(len(execs), self.N)  # each task's shell
        exec_line = re.compile(r"^\[ *\d+\.\d{3}\] exec {5}sh {14} pid (\d+): (.*)$")

        def exec_lines(text):
            return {int(m.group(1)): m.group(2) for m in map(exec_line.match, text.splitlines())
                    if m}
        for out in (p.stdout, r.stdout):
            self.assertEqual(sorted(exec_lines(out)), sorted(e["pid"] for e in execs))
        cut = os.path.join(d, "cut.jsonl")
        with open(cut, "w") as f:
            for e in evs:
                e.pop("argv", None) if e["ev"] == "exec" else None
                f.write(json.dumps(e) + "\n")
        r2 = self.run_ft("replay", "--headless", "--speed", "0", cut)
        self.assertEqual(r2.returncode, 0, r2.stderr)
        self.assertEqual(exec_lines(r2.stdout),
                         {e["pid"]: "sh (arguments unknown)" for e in execs})


if __name__ == "__main__":
    main()
