import mproc as multiprocessing
import os


def producer(conn):
    for i in range(10):
        url = 'url_%d' % i
        print('process %s sends %s' % (os.getpid(), url))
        conn.send(url)
    conn.send(None)
    conn.close()


def consumer(conn):
    while True:
        url = conn.recv()
        if url is None:
            break
        print('process %s receives %s' % (os.getpid(), url))


if __name__ == '__main__':
    receiving, sending = multiprocessing.Pipe(duplex=False)
    p = multiprocessing.Process(target=producer, args=(sending,))
    c = multiprocessing.Process(target=consumer, args=(receiving,))
    p.start()
    c.start()
    p.join()
    c.join()
    print('producer', p.exitcode, 'consumer', c.exitcode)
