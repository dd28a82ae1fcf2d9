# "Using a remote manager", the server, as in multiprocessing's documentation with only the import
# replaced; the port comes from the command line (the documentation's is 50000) so that tests do
# not collide.
import sys
from mproc.managers import BaseManager
from queue import Queue
queue = Queue()
class QueueManager(BaseManager): pass
QueueManager.register('get_queue', callable=lambda:queue)
m = QueueManager(address=('', int(sys.argv[1])), authkey=b'abracadabra')
s = m.get_server()
print("serving", flush=True)
s.serve_forever()
