import mproc as multiprocessing


def f(d, l, a, i):
    d[1] = '1'
    d['2'] = 2
    d[0.25] = None
    l.reverse()
    a[i] = i * 1.5


if __name__ == '__main__':
    with multiprocessing.Manager() as manager:
        d = manager.dict()
        l = manager.list(range(10))
        a = manager.Array('d', [0.0] * 4)
        p = multiprocessing.Process(target=f, args=(d, l, a, 3))
        p.start()
        p.join()
        print(d)
        print(l)
        print(a[:])
