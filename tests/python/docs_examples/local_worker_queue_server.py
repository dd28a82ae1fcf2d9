# "Using a remote manager", the local variant: a Process puts into a Queue that the manager's
# server then serves to remote clients (the documentation's code, with only the import replaced
# and the port from the command line).
import sys
from mproc import Process, Queue
from mproc.managers import BaseManager
class Worker(Process):
    def __init__(self, q):
        self.q = q
        super().__init__()
    def run(self):
        self.q.put('local hello')

queue = Queue()
w = Worker(queue)
w.start()
class QueueManager(BaseManager): pass

QueueManager.register('get_queue', callable=lambda: queue)
m = QueueManager(address=('', int(sys.argv[1])), authkey=b'abracadabra')
s = m.get_server()
print("serving", flush=True)
s.serve_forever()
