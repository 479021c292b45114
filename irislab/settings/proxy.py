"""A network between a client and the brokers that the experiments can spoil: it loses the
brokers' answers (enable_idempotence: a batch resent after the broker wrote it), or goes away
altogether (delivery_timeout_ms). kafka-python connects through it as through any HTTP proxy
(proxy_url), so the brokers stay real, and the experiments run on any cluster."""

import socket
import threading


class LosingProxy:
    """An HTTP CONNECT proxy (kafka-python's proxy_url) that carries a client's connections
    to the brokers; while `losing` is set it drops what the brokers answer on every
    connection, for good: a network that loses a response after the broker acted on the
    request. Connections opened after `losing` is cleared are carried faithfully.
    cut_off() is a network gone: every connection closed, every new one refused."""

    def __init__(self):
        self.losing = self.cut = False
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self._server.getsockname()[1]
        self._sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:  # closed
                return
            self._sockets.append(client)
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client):
        head = b""
        if self.cut:
            return client.close()
        try:
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return client.close()
                head += chunk
            host, port = head.split()[1].decode().rsplit(":", 1)
            broker = socket.create_connection((host, int(port)))
        except OSError:
            return client.close()
        self._sockets.append(broker)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=self._pump, args=(client, broker, False), daemon=True).start()
        self._pump(broker, client, True)

    def _pump(self, source, target, answers):
        deaf = False
        try:
            while data := source.recv(65536):
                deaf = deaf or (answers and self.losing)
                if not deaf:
                    target.sendall(data)
        except OSError:
            pass
        for s in (source, target):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut_off(self):
        self.cut = True
        for s in self._sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self._server.close()
        for s in self._sockets:
            s.close()
