import mproc as multiprocessing
import time


def nap(seconds):
    time.sleep(seconds)
    return seconds


def square(x):
    return x * x


if __name__ == '__main__':
    with multiprocessing.Pool(3) as pool:
        print('apply_async:', pool.apply_async(square, (10,)).get(timeout=10))
        print('map:', pool.map(square, range(10)))
        print('imap:', list(pool.imap(nap, [0.5, 0.1, 0.3])))
        print('imap_unordered:', list(pool.imap_unordered(nap, [0.5, 0.1, 0.3])))
