"""items = @FILE and items = - are streamed, one item a line, as the pool
takes them: forktop's peak memory does not grow with the number of items
(measured from outside, as the largest resident size of what the test's
helper waited for), and every item runs once, with its number, in every
submit mode.  Before, the whole file was read at the start: 2,000,000
items took some 260 MB, and a file over 64 MiB was refused."""
import json
import os
import subprocess
import sys

from ftcase import FORKTOP, TIMEOUT, ForktopCase, main, wait_for

# Runs argv and prints the peak resident size (KiB) of the largest process it
# waited for: forktop itself (its workers are far smaller).
PEAK = ("import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
        "sys.stderr.buffer.write(p.stderr)\n"
        "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")


with open(FORKTOP, "rb") as _f:  # an AddressSanitizer build keeps freed memory a while
    ASAN = b"__asan_init" in _f.read()


class ItemsStream(ForktopCase):
    def peak_kib(self, path, n):
        with open(os.path.join(self.dir, "items.txt"), "w") as f:
            f.writelines(f"{i}\n" for i in range(n))
        p = subprocess.run([sys.executable, "-c", PEAK, FORKTOP, "run", path, "--headless"],
                           capture_output=True, text=True, env=self.env, timeout=TIMEOUT)
        rc, kib = map(int, p.stdout.split())
        self.assertEqual(rc, 0, p.stderr)
        return kib

    def test_memory_flat_from_200k_to_2m_items(self):
        path = self.workload("[pool p]\nworkers = 2\nitems = @items.txt\ntask = sleep 0\n")
        small = self.peak_kib(path, 200000)
        big = self.peak_kib(path, 2000000)
        if ASAN:
            self.skipTest("AddressSanitizer's quarantine holds freed memory: RSS is not flat")
        self.assertLess(big, 100 * 1024, f"2M items: peak {big} KiB")
        self.assertLess(big - small, 8 * 1024, f"200k items: {small} KiB, 2M: {big} KiB")

    def test_every_item_once_with_its_number(self):
        # blank lines are skipped, CR before LF is dropped, the last line may
        # lack its newline; each task writes its item to a file named by its
        # number ({#}), the ground truth outside forktop
        lines = ["alpha", "", "beta  gamma\r", "  ", "delta\tx"] + [f"n{i}" for i in range(300)]
        items = [ln.rstrip("\r") for ln in lines if ln.rstrip("\r")]
        text = "\n".join(lines)  # no final newline
        for submit in ("map", "imap", "imap_unordered", "apply_async", "starmap"):
            with self.subTest(submit=submit):
                out = os.path.join(self.dir, submit)
                os.mkdir(out)
                path = self.workload(
                    f"[pool p]\nworkers = 3\nsubmit = {submit}\nitems = -\n"
                    f"task = shell printf '%s' {{}} > {out}/{{#}}\n", f"{submit}.ini")
                p = self.run_ft("run", path, "--json", stdin=text)
                evs = [json.loads(line) for line in p.stdout.splitlines()]
                self.assertEqual(p.returncode, 0, p.stderr)
                s = evs[-1]
                self.assertEqual((s["tasks"], s["tasks_done"]), (len(items), len(items)), s)
                got = {}
                for name in os.listdir(out):
                    with open(os.path.join(out, name)) as f:
                        got[int(name)] = f.read()
                # starmap: an item's words, joined by one space
                want = {i + 1: (" ".join(v.split()) if submit == "starmap" else v)
                        for i, v in enumerate(items)}
                self.assertEqual(got, want)


    def test_pipe_read_as_its_writer_writes(self):
        # a FIFO's first item runs before its writer writes the second (it
        # waits for the first task's mark): a pipe is never waited on while
        # the pool could run what came already
        fifo = os.path.join(self.dir, "fifo")
        os.mkfifo(fifo)
        mark = os.path.join(self.dir, "mark")
        path = self.workload(f"[pool p]\nworkers = 2\nitems = @fifo\n"
                             f"task = shell echo {{}} >> {mark}\n")
        p = subprocess.Popen([FORKTOP, "run", path, "--headless"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=self.env)
        try:
            with open(fifo, "w") as w:
                w.write("first\n")
                w.flush()
                self.assertTrue(wait_for(lambda: os.path.exists(mark), timeout=20),
                                "the first item did not run before the file ended")
                w.write("second\nthi")
                w.flush()
                w.write("rd\n")
            out, err = p.communicate(timeout=TIMEOUT)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("3 tasks (3 done, 0 failed)", out)
        with open(mark) as f:
            self.assertEqual(sorted(f.read().split()), ["first", "second", "third"])


if __name__ == "__main__":
    main()
