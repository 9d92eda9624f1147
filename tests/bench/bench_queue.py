"""Python anchor for bench_queue.c: multiprocessing.Queue, one producer process."""
import multiprocessing as mp
import time


def producer(q, size, n):
    item = b"x" * size
    for _ in range(n):
        q.put(item)


def run(size, n):
    q = mp.Queue(1024)
    p = mp.Process(target=producer, args=(q, size, n))
    t0 = time.perf_counter()
    p.start()
    for _ in range(n):
        q.get()
    dt = time.perf_counter() - t0
    p.join()
    return dt


def main():
    n = 1000000
    print(f"case=queue_8b_msgs value={n / run(8, n):.0f} unit=msgs/s better=higher desc=")
    n = 200000
    print(f"case=queue_1k_MBps value={n * 1024 / run(1024, n) / 1e6:.1f} unit=MB/s better=higher desc=")


if __name__ == "__main__":
    mp.set_start_method("fork")
    main()
