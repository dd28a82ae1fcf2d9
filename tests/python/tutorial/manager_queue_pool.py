import mproc as multiprocessing
import os


def worker(q, i):
    q.put((i, i * i, os.getpid()))


if __name__ == '__main__':
    manager = multiprocessing.Manager()
    q = manager.Queue()
    pool = multiprocessing.Pool(4)
    for i in range(10):
        pool.apply_async(worker, (q, i))
    pool.close()
    pool.join()
    results = []
    while not q.empty():
        results.append(q.get())
    print('squares:', sorted(square for _, square, _ in results))
    print('workers used:', len(set(pid for _, _, pid in results)) >= 1)
