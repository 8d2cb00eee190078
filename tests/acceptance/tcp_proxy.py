"""A loopback TCP proxy a test puts between the server and a service (database, storage) to cut it on purpose."""

import contextlib
import socket
import threading
from types import TracebackType


class TcpProxy:
    """Forward every connection to one upstream address until told otherwise.

    ``refuse()`` drops the live connections and hangs up on new ones (the service is away), ``restore()``
    brings it back. Two calls cut one connection at one message, the next one whose client sends ``marker``:
    ``drop_on(marker)`` drops it without forwarding the message, so the service never sees it;
    ``drop_after(marker)`` forwards the message and drops the connection when the service answers, so the
    service acted on the message but the client never learns the outcome (or, with ``answer_bytes``, gets
    only the start of the answer: a response cut off in its body).
    """

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.connections: set[socket.socket] = set()
        self.refusing = False
        self.marker: bytes | None = None
        self.forward_marker = False
        self.answer_bytes = 0
        # Upstream sockets whose answer is cut: how many more of its bytes go on before the connection drops.
        self.cutting: dict[socket.socket, int] = {}
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
        """Drop the next connection whose client sends ``marker``, before the message goes on (once); ``dropped``
        is set when it happens."""
        self._arm(marker, forward=False)

    def drop_after(self, marker: bytes, *, answer_bytes: int = 0) -> None:
        """Forward the next message that carries ``marker``, pass on the first ``answer_bytes`` bytes of the
        service's answer and drop the connection there (once); ``dropped`` is set when it happens."""
        self._arm(marker, forward=True, answer_bytes=answer_bytes)

    def close(self) -> None:
        """Stop listening and drop everything."""
        self.refuse()
        self.listener.close()

    def _arm(self, marker: bytes, *, forward: bool, answer_bytes: int = 0) -> None:
        with self.lock:
            self.dropped.clear()
            self.marker = marker
            self.forward_marker = forward
            self.answer_bytes = answer_bytes

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
                if from_client and self._trips(data, upstream=target):
                    break
                cut = False
                if not from_client:
                    data, cut = self._cut(source, data)
                target.sendall(data)
                if cut:
                    break
        with self.lock:
            self.connections -= {source, target}
            self.cutting.pop(target if from_client else source, None)
        _hang_up(source)
        _hang_up(target)

    def _trips(self, data: bytes, *, upstream: socket.socket) -> bool:
        """Whether to drop the connection instead of forwarding ``data``; under ``drop_after``, arm the cut."""
        with self.lock:
            if self.marker is None or self.marker not in data:
                return False
            self.marker = None
            if self.forward_marker:
                # Armed before the message goes on, so the answer cannot overtake it.
                self.cutting[upstream] = self.answer_bytes
                return False
        self.dropped.set()
        return True

    def _cut(self, upstream: socket.socket, data: bytes) -> tuple[bytes, bool]:
        """What of ``data`` from upstream goes on, and whether the connection drops after it."""
        with self.lock:
            remaining = self.cutting.get(upstream)
            if remaining is None:
                return data, False
            if len(data) < remaining:
                self.cutting[upstream] = remaining - len(data)
                return data, False
            del self.cutting[upstream]
        self.dropped.set()
        return data[:remaining], True


def _hang_up(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
