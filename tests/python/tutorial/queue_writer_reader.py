import mproc as multiprocessing
import os
import random
import time


def write(q):
    print('Process to write: %s' % os.getpid())
    for value in ['A', 'B', 'C']:
        print('Put %s to queue...' % value)
        q.put(value)
        time.sleep(random.random() * 0.1)


def read(q):
    print('Process to read: %s' % os.getpid())
    while True:
        value = q.get(True)
        print('Get %s from queue.' % value, flush=True)
        q.task_done()


if __name__ == '__main__':
    q = multiprocessing.JoinableQueue()  # join() below: every value taken and printed
    pw = multiprocessing.Process(target=write, args=(q,))
    pr = multiprocessing.Process(target=read, args=(q,))
    pw.start()
    pr.start()
    pw.join()
    q.join()
    pr.terminate()
    pr.join()
    print('reader exit code', pr.exitcode)
