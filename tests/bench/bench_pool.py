"""Python anchor for bench_pool.c: the same cases with multiprocessing."""
import multiprocessing as mp
import statistics
import time


def trivial(x):
    return x


def nothing():
    pass


def map_rate(n, chunksize):
    with mp.Pool(2) as p:
        t0 = time.perf_counter()
        if chunksize:
            p.map(trivial, range(n), chunksize=chunksize)
        else:
            p.map(trivial, range(n))
        return n / (time.perf_counter() - t0)


def main():
    n = 200000
    print(f"case=pool_map_chunksize1 value={map_rate(n, 1):.0f} unit=tasks/s better=higher desc=")
    best = statistics.median(map_rate(n, 0) for _ in range(3))
    print(f"case=pool_map_best_chunksize value={best:.0f} unit=tasks/s better=higher desc=")
    t0 = time.perf_counter()
    for _ in range(100):
        p = mp.Process(target=nothing)
        p.start()
        p.join()
    print(f"case=process_start_join value={(time.perf_counter() - t0) * 1000 / 100:.3f} unit=ms better=lower desc=")
    life = []
    for _ in range(5):
        t0 = time.perf_counter()
        p = mp.Pool(35)
        p.close()
        p.join()
        life.append((time.perf_counter() - t0) * 1000)
    print(f"case=pool35_lifecycle value={statistics.median(life):.3f} unit=ms better=lower desc=")


if __name__ == "__main__":
    mp.set_start_method("fork")
    main()
