"""A TCP proxy a test can cut and restore, to make a real server (a broker, PostgreSQL)
unreachable on purpose while it keeps running for everyone else."""

import contextlib
import socket
import threading


class TcpProxy:
    """Forward ``127.0.0.1:<port>`` to the target. :meth:`cut` drops every open connection and
    refuses new ones (accepted, then closed at once: the server looks gone, as after a crash
    or a restart), until :meth:`restore`."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port = self.listener.getsockname()[1]
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.up = threading.Event()
        self.up.set()
        self.forwarded = 0  # connections passed through, so a test can tell the proxy is used
        self.refused = 0  # connections refused while cut
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, url: str, port: int) -> str:
        """Return ``url`` with ``127.0.0.1:<port>`` replaced by this proxy's address."""
        assert f"127.0.0.1:{port}" in url, url
        return url.replace(f"127.0.0.1:{port}", f"127.0.0.1:{self.port}")

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                self.refused += 1
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)  # idle connections are normal
            with self.lock:
                if not self.up.is_set():  # cut while connecting
                    client.close()
                    upstream.close()
                    continue
                self.open |= {client, upstream}
                self.forwarded += 1
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
            with self.lock:
                self.open -= {source, sink}
            source.close()  # the other pipe thread closes its own source

    def cut(self) -> None:
        """Drop every connection and refuse new ones (the server looks unreachable)."""
        with self.lock:
            self.up.clear()
            for end in self.open:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
            self.open.clear()

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.cut()
        self.listener.close()
