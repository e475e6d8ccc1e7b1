# tcp-peer.py: the far ends of the close-order tests (t_broker_close).
#   serve MODE [PORT] listen on PORT or a free 127.0.0.1 port (printed first); each
#                     connection: banner (a line, then close), echo (until
#                     EOF), sink (read to EOF, answer the count, close) or
#                     drop (close at once)
#   connect PORT MODE read (print what comes until EOF), drop (close at
#                     once, print "dropped"), send FILE (send it, half-close,
#                     print the SHA-256 and size of what comes back), tell
#                     FILE (the same, printing what comes back)
import hashlib
import socket
import sys
import threading


def serve(mode, port=0):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    print(s.getsockname()[1], flush=True)

    def one(c):
        if mode == "banner":
            c.sendall(b"BANNER\n")
        elif mode == "echo":
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
        elif mode == "sink":
            n = 0
            while True:
                d = c.recv(65536)
                if not d:
                    break
                n += len(d)
            c.sendall(b"%d\n" % n)
        c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()


def connect(port, mode, path=None):
    c = socket.create_connection(("127.0.0.1", port), timeout=20)
    if mode == "drop":
        c.close()
        print("dropped")
        return
    if mode in ("send", "tell"):
        def send():
            with open(path, "rb") as f:
                while True:
                    d = f.read(1 << 20)
                    if not d:
                        break
                    c.sendall(d)
            c.shutdown(socket.SHUT_WR)
        threading.Thread(target=send, daemon=True).start()
    h = hashlib.sha256()
    got = b""
    n = 0
    while True:
        d = c.recv(65536)
        if not d:
            break
        h.update(d)
        n += len(d)
        if len(got) < 4096:
            got += d
    c.close()
    if mode == "send":
        print(h.hexdigest(), n)
    else:
        sys.stdout.write(got.decode(errors="replace"))


if sys.argv[1] == "serve":
    serve(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
else:
    connect(int(sys.argv[2]), sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
