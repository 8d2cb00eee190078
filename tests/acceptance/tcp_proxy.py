"""A loopback TCP proxy a test puts between the server and a service (database, storage) to cut it on purpose."""

import contextlib
import socket
import threading
from types import TracebackType


class TcpProxy:
    """Forward every connection to one upstream address until told otherwise.

    ``refuse()`` drops the live connections and hangs up on new ones (the service is away), ``restore()``
    brings it back, and ``drop_on(marker)`` drops only the connection whose client next sends ``marker``,
    without forwarding it: the service never sees that message and the client loses its connection.
    """

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.connections: set[socket.socket] = set()
        self.refusing = False
        self.marker: bytes | None = None
        self.dropped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def __enter__(self) -> "TcpProxy":
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def refuse(self) -> None:
        """Drop every live connection and hang up on new ones."""
        with self.lock:
            self.refusing = True
            live, self.connections = self.connections, set()
        for sock in live:
            _hang_up(sock)

    def restore(self) -> None:
        """Forward again."""
        with self.lock:
            self.refusing = False
            self.marker = None

    def drop_on(self, marker: bytes) -> None:
        """Drop the next connection whose client sends ``marker`` (once); ``dropped`` is set when it happens."""
        with self.lock:
            self.dropped.clear()
            self.marker = marker

    def close(self) -> None:
        """Stop listening and drop everything."""
        self.refuse()
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                refusing = self.refusing
            if refusing:
                _hang_up(client)
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _hang_up(client)
                continue
            with self.lock:
                self.connections |= {client, upstream}
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, from_client: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if from_client and self._trips(data):
                    break
                target.sendall(data)
        with self.lock:
            self.connections -= {source, target}
        _hang_up(source)
        _hang_up(target)

    def _trips(self, data: bytes) -> bool:
        with self.lock:
            if self.marker is None or self.marker not in data:
                return False
            self.marker = None
        self.dropped.set()
        return True


def _hang_up(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
