# tcp-client.py PORT FILE: sends FILE to 127.0.0.1:PORT, half-closes, and
# prints the SHA-256 and size of what came back.
import hashlib
import socket
import sys
import threading

c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)


def send():
    with open(sys.argv[2], "rb") as f:
        while True:
            d = f.read(1 << 20)
            if not d:
                break
            c.sendall(d)
    c.shutdown(socket.SHUT_WR)


threading.Thread(target=send, daemon=True).start()
h = hashlib.sha256()
n = 0
while True:
    d = c.recv(65536)
    if not d:
        break
    h.update(d)
    n += len(d)
print(h.hexdigest(), n)
