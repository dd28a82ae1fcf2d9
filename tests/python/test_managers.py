"""Manager: dict, list, Namespace, Queue, Value, Array, Lock shared with forked children and with
Pool workers; values pickled; the names go with shutdown."""

import pytest

import mproc
from conftest import WAIT


def fill(d, lst, ns, i):
    d[f"worker-{i}"] = {"square": i * i}
    lst.append(i)
    ns.last = i


def use_in_pool(d, q, arr, v, lock, i):
    d[i] = str(i)
    q.put(i)
    arr[i] = i * 2.0
    with lock:
        v.value += 1
    return i


def test_dict_list_namespace_across_processes():
    with mproc.Manager() as manager:
        d, lst, ns = manager.dict(), manager.list([100]), manager.Namespace(start=1)
        ps = [mproc.Process(target=fill, args=(d, lst, ns, i)) for i in range(4)]
        for p in ps:
            p.start()
        for p in ps:
            p.join(WAIT)
        assert d.copy() == {f"worker-{i}": {"square": i * i} for i in range(4)}
        assert sorted(lst) == [0, 1, 2, 3, 100] and len(lst) == 5
        assert ns.last in range(4) and ns.start == 1


def test_dict_interface():
    with mproc.Manager() as manager:
        d = manager.dict(a=1)
        d[("t", 1)] = [1, 2]
        assert d["a"] == 1 and d[("t", 1)] == [1, 2] and len(d) == 2 and "a" in d
        with pytest.raises(KeyError):
            d["missing"]
        assert d.get("missing", 5) == 5
        assert d.setdefault("b", 2) == 2 and d.setdefault("b", 3) == 2
        assert d.pop("b") == 2 and d.pop("b", None) is None
        del d["a"]
        with pytest.raises(KeyError):
            del d["a"]
        d.update({"x": 1}, y=2)
        assert sorted(d.keys(), key=str) == sorted([("t", 1), "x", "y"], key=str)
        assert sorted(d.values(), key=str) == sorted([[1, 2], 1, 2], key=str)
        d.clear()
        assert len(d) == 0 and str(d) == "{}"


def test_dict_values_of_every_size_read_back_in_any_thread():
    """d[k] reads into a per-thread buffer: values larger than it (and than its 1 MiB growth
    limit) come back whole, then small ones again, in the main thread and in another one."""
    import threading
    sizes = [0, 10, 1023, 1024, 5000, 70000, (1 << 20) + 7, 3, 2 << 20, 1]
    with mproc.Manager() as manager:
        d = manager.dict()
        for n in sizes:
            d[n] = b"v" * n
        results = []

        def read_all():
            results.append([d[n] == b"v" * n for n in sizes])

        read_all()
        t = threading.Thread(target=read_all)
        t.start()
        t.join(WAIT)
        assert results == [[True] * len(sizes)] * 2


def test_list_and_namespace_interface():
    with mproc.Manager() as manager:
        lst = manager.list()
        lst.extend(["a", "b", "c"])
        lst.insert(0, "z")
        assert lst[:] == ["z", "a", "b", "c"] and lst[-1] == "c" and lst[1:3] == ["a", "b"]
        lst[0] = "y"
        assert lst.pop() == "c" and lst.pop(0) == "y"
        with pytest.raises(IndexError):
            lst[10]
        with pytest.raises(IndexError):
            lst.pop(10)
        assert lst.index("b") == 1 and lst.count("a") == 1 and "a" in lst
        lst.remove("a")
        assert list(lst) == ["b"]
        ns = manager.Namespace()
        ns.x = {"k": 1}
        assert ns.x == {"k": 1}
        del ns.x
        with pytest.raises(AttributeError):
            ns.x


def test_queue_value_array_lock_in_pool_workers():
    with mproc.Manager() as manager:
        d, q = manager.dict(), manager.Queue()
        arr, v, lock = manager.Array("d", [0.0] * 4), manager.Value("i", 0), manager.Lock()
        with mproc.Pool(2) as pool:
            assert sorted(pool.starmap(use_in_pool, [(d, q, arr, v, lock, i)
                                                     for i in range(4)])) == [0, 1, 2, 3]
        assert d.copy() == {i: str(i) for i in range(4)}
        assert sorted(q.get(timeout=WAIT) for _ in range(4)) == [0, 1, 2, 3]
        assert arr[:] == [0.0, 2.0, 4.0, 6.0] and v.value == 4


def test_shutdown_removes_the_names():
    manager = mproc.Manager()
    d = manager.dict()
    d["k"] = "v"
    handle = d._handle()
    manager.shutdown()
    assert d["k"] == "v"  # open proxies keep working
    with pytest.raises(FileNotFoundError):
        mproc.managers._attach_proxy(mproc.managers.DictProxy, handle)
    manager.shutdown()  # idempotent


def put_square(q, i):
    q.put(i * i)


def test_a_temporary_managers_queue_stays_usable_while_held():
    # The tutorial's q = Manager().Queue(10), handed to pool tasks after the Manager is gone.
    q = mproc.Manager().Queue(10)
    with mproc.Pool(2) as pool:
        for r in [pool.apply_async(put_square, (q, i)) for i in range(5)]:
            r.get(timeout=WAIT)
    assert sorted(q.get(timeout=WAIT) for _ in range(5)) == [0, 1, 4, 9, 16]


def test_list_slices_and_negative_indexes_are_pythons():
    with mproc.Manager() as manager:
        lst = manager.list()
        lst.extend(range(10))
        assert lst[::-3] == [9, 6, 3, 0] and lst[-2] == 8
        lst[2:5] = ["a"]
        del lst[::2]
        assert list(lst) == [1, 5, 7, 9]
        d = manager.dict()
        for k in "bac":
            d[k] = k
        del d["b"]
        d["b"] = 1
        assert list(d.keys()) == ["a", "c", "b"]
