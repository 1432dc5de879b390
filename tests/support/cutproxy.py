"""A TCP proxy on loopback that loses the server's answer to a COMMIT (a test fixture at the
network boundary, the "lost answer" of the exactly-once promise).

It forwards bytes both ways; once armed, the first client message carrying ``COMMIT`` is
delivered to the server, and the server's answer (sent only once the commit is done) is
dropped and both sockets closed: the server committed, the client saw its connection break.
Later connections pass untouched.
"""

from __future__ import annotations

import socket
import threading


class CutProxy:
    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.armed = threading.Event()
        self.dropping = threading.Event()
        self.cut = threading.Event()  # set once an answer has been lost
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        try:
            while data := src.recv(65536):
                if not upstream and self.dropping.is_set():  # the answer to COMMIT: lose it
                    self.dropping.clear()
                    self.cut.set()
                    return
                if upstream and self.armed.is_set() and b"COMMIT" in data:
                    self.armed.clear()
                    self.dropping.set()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:  # shutdown first: it wakes the other direction's blocked recv
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                try:
                    s.close()
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()
