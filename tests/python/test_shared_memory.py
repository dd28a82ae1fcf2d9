"""SharedMemory interchangeable with Python's own: a segment made by one is opened by the other;
close / unlink; errors as Python's."""

import os
from multiprocessing import resource_tracker, shared_memory as py_shm

import pytest

import mproc
from mproc import shared_memory
from conftest import WAIT

# Python's tracker (its process and pipe) lives as long as the interpreter: started before the
# tests, so that the leak check does not count it.
resource_tracker.ensure_running()


def write_hello(name):
    s = shared_memory.SharedMemory(name)
    s.buf[:5] = b"hello"
    s.close()


def test_made_by_mproc_opened_by_python_and_back():
    mine = shared_memory.SharedMemory(create=True, size=4096)
    try:
        assert mine.size == 4096 and not mine.name.startswith("/")
        mine.buf[:3] = b"abc"
        theirs = py_shm.SharedMemory(mine.name)
        assert bytes(theirs.buf[:3]) == b"abc"
        theirs.buf[3:6] = b"def"
        theirs.close()
        assert bytes(mine.buf[:6]) == b"abcdef"
    finally:
        mine.close()
        mine.unlink()
    python_made = py_shm.SharedMemory(create=True, size=1000)
    try:
        python_made.buf[:2] = b"py"
        opened = shared_memory.SharedMemory(python_made.name)
        assert bytes(opened.buf[:2]) == b"py"
        assert opened.size >= 1000
        opened.close()
    finally:
        python_made.close()
        python_made.unlink()


def test_child_writes_parent_reads_and_lifetime():
    s = shared_memory.SharedMemory(create=True, size=64)
    p = mproc.Process(target=write_hello, args=(s.name,))
    p.start()
    p.join(WAIT)
    assert p.exitcode == 0 and bytes(s.buf[:5]) == b"hello"
    view = s.buf[:5]
    with pytest.raises(BufferError):
        s.close()  # a view of the memory is still in use
    view.release()
    s.close()
    s.close()
    name = s.name
    s.unlink()
    with pytest.raises(FileNotFoundError):
        s.unlink()
    with pytest.raises(FileNotFoundError):
        shared_memory.SharedMemory(name)
    assert not os.path.exists("/dev/shm/" + name)


def test_bad_arguments():
    with pytest.raises(ValueError):
        shared_memory.SharedMemory(create=True, size=0)
    with pytest.raises(ValueError):
        shared_memory.SharedMemory(create=True, size=-1)
    with pytest.raises(ValueError):
        shared_memory.SharedMemory()
    s = shared_memory.SharedMemory(create=True, size=10)
    try:
        with pytest.raises(FileExistsError):
            shared_memory.SharedMemory(s.name, create=True, size=10)
    finally:
        s.close()
        s.unlink()


ITEMS = [7, -2**63, 2.5, True, False, None, "text", "", "héllo wörld", b"raw\x01", b""]


def close_unlink(shm):
    shm.close()
    shm.unlink()


def test_a_shareable_list_made_by_mproc_is_read_and_written_by_python():
    mine = shared_memory.ShareableList(ITEMS)
    try:
        assert list(mine) == ITEMS and len(mine) == len(ITEMS)
        theirs = py_shm.ShareableList(name=mine.shm.name)
        try:
            assert list(theirs) == ITEMS
            assert theirs.format == mine.format
            theirs[0] = 8
            theirs[6] = "short"
            theirs[2] = None
            theirs[4] = 3.25
        finally:
            theirs.shm.close()
        assert mine[0] == 8 and mine[6] == "short" and mine[2] is None and mine[4] == 3.25
        assert mine[-1] == b"" and mine.count(8) == 1 and mine.index("short") == 6
    finally:
        close_unlink(mine.shm)


def test_a_shareable_list_made_by_python_is_read_and_written_by_mproc():
    theirs = py_shm.ShareableList(ITEMS[:7] + [b"raw\x01"])
    try:
        mine = shared_memory.ShareableList(name=theirs.shm.name)
        try:
            assert list(mine) == list(theirs) and mine.format == theirs.format
            mine[1] = 42
            mine[6] = "longer!"  # 8 bytes of room for "text"
            mine[5] = False
            mine[3] = b"b"
            with pytest.raises(ValueError):
                mine[6] = "x" * 9
        finally:
            mine.shm.close()
        assert theirs[1] == 42 and theirs[6] == "longer!" and theirs[5] is False
        assert theirs[3] == b"b"
    finally:
        close_unlink(theirs.shm)


def test_a_shareable_list_through_a_child_and_its_errors():
    sl = shared_memory.ShareableList([0, "abc"])
    try:
        p = mproc.Process(target=set_item, args=(sl, 0, 99))
        p.start()
        p.join(WAIT)
        assert p.exitcode == 0 and sl[0] == 99
        with pytest.raises(IndexError):
            sl[2]
        with pytest.raises(IndexError):
            sl[-3] = 1
        with pytest.raises(TypeError):
            shared_memory.ShareableList([[1]])
        empty = shared_memory.ShareableList([])
        theirs = py_shm.ShareableList(name=empty.shm.name)
        assert list(empty) == [] and len(theirs) == 0
        theirs.shm.close()
        close_unlink(empty.shm)
    finally:
        close_unlink(sl.shm)


def set_item(sl, i, value):
    attached = shared_memory.ShareableList(name=sl.shm.name)
    attached[i] = value
    attached.shm.close()


def test_a_shared_memory_manager_unlinks_what_it_made():
    from mproc.managers import SharedMemoryManager
    with SharedMemoryManager() as smm:
        smm.start()
        segment = smm.SharedMemory(64)
        sl = smm.ShareableList([1, "two"])
        names = [segment.name, sl.shm.name]
        segment.buf[:2] = b"ok"
        theirs = py_shm.SharedMemory(segment.name)
        assert bytes(theirs.buf[:2]) == b"ok"
        theirs.close()
        sl.shm.close()
        segment.close()
    for name in names:
        with pytest.raises(FileNotFoundError):
            shared_memory.SharedMemory(name)
