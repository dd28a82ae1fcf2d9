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
