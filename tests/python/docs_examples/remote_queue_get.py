# "Using a remote manager", the client that gets.
import sys
from mproc.managers import BaseManager
class QueueManager(BaseManager): pass
QueueManager.register('get_queue')
m = QueueManager(address=('127.0.0.1', int(sys.argv[1])), authkey=b'abracadabra')
m.connect()
queue = m.get_queue()
print(queue.get())
