"""The probe's socket: dashboards connect, say hello, receive the run's state
and then every event; their commands wait in a queue for the search's next
step boundary. Nothing here ever blocks the training thread: events go into
a bounded queue per dashboard, and a dashboard that falls too far behind
(or disappears) is dropped, not waited for."""

import hmac
import os
import queue
import secrets
import socket
import stat
import threading

from . import wire

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
OUTBOX_LIMIT = 20000
COMMAND_LIMIT = 1000
KNOWN_COMMANDS = {"pause", "resume", "step", "stepEpoch", "set", "snapshot", "rollback", "fork", "stop"}


def parse_listen(text: str):
    """("unix", path) or ("tcp", host, port) from `unix:PATH` or `HOST:PORT`."""
    if text.startswith("unix:"):
        path = text[5:]
        if not path or len(path.encode()) > 107:
            raise ValueError(f"bad listen address {text!r}: a Unix socket path must be 1–107 bytes")
        return ("unix", path)
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"bad listen address {text!r}: expected HOST:PORT (e.g. 127.0.0.1:7797) or unix:PATH")
    return ("tcp", host.strip("[]") or "127.0.0.1", int(port))


class Dashboard:
    """One connected dashboard: its socket and its outbound queue."""

    def __init__(self, connection, address, log):
        self.connection = connection
        self.address = address
        self.outbox = queue.Queue(OUTBOX_LIMIT)
        self.closed = threading.Event()
        self.log = log
        threading.Thread(target=self._write, name="dartscope-probe-writer", daemon=True).start()

    def offer(self, line: bytes) -> bool:
        if self.closed.is_set():
            return False
        try:
            self.outbox.put_nowait(line)
            return True
        except queue.Full:
            self.log(f"dashboard {self.address} fell {OUTBOX_LIMIT} messages behind; dropped")
            self.close()
            return False

    def _write(self):
        while not self.closed.is_set():
            try:
                line = self.outbox.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                self.connection.sendall(line)
            except OSError:
                self.close()

    def close(self):
        if not self.closed.is_set():
            self.closed.set()
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.connection.close()


class ProbeServer:
    """Listens for dashboards. `welcome(dashboard)` is called (under the
    caller's lock, see Probe) to send the current state to a new one."""

    def __init__(self, listen: str, token: str | None, hello: dict, welcome, log):
        self.log = log
        self.hello = hello
        self.welcome = welcome
        self.commands = queue.Queue(COMMAND_LIMIT)
        self.dashboards: list[Dashboard] = []
        self.lock = threading.Lock()
        self.closed = threading.Event()
        kind = parse_listen(listen)
        if kind[0] == "unix":
            path = kind[1]
            if os.path.exists(path) and stat.S_ISSOCK(os.stat(path).st_mode):
                os.unlink(path)  # a killed probe's leftover
            self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.listener.bind(path)
            os.chmod(path, 0o600)  # the file's permissions are the access control
            self.token = None
            self.address = f"unix:{path}"
            self.unix_path = path
        else:
            _, host, port = kind
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self.listener = socket.socket(family, socket.SOCK_STREAM)
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.listener.bind((host, port))
            self.unix_path = None
            # Beyond loopback anyone on the network could steer the search: a token is required.
            self.token = token if host in LOOPBACK else (token or secrets.token_urlsafe(16))
            bound = self.listener.getsockname()[1]
            self.address = f"[{host}]:{bound}" if ":" in host else f"{host}:{bound}"
        self.listener.listen(8)
        self.listener.settimeout(0.5)
        threading.Thread(target=self._accept, name="dartscope-probe-accept", daemon=True).start()

    def _accept(self):
        while not self.closed.is_set():
            try:
                connection, peer = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            connection.settimeout(None)
            threading.Thread(target=self._serve, args=(connection, peer or "unix"), name="dartscope-probe-reader", daemon=True).start()

    def _serve(self, connection, peer):
        reader = connection.makefile("rb")
        dashboard = None
        try:
            connection.settimeout(10)  # a hello, promptly
            hello = wire.decode(reader.readline(wire.MAX_LINE_BYTES + 1))
            connection.settimeout(None)
            reason = self._refusal(hello)
            if reason:
                connection.sendall(wire.encode({"type": "refused", "reason": reason}))
                self.log(f"refused a dashboard from {peer}: {reason}")
                return
            connection.sendall(wire.encode(self.hello))
            dashboard = Dashboard(connection, peer, self.log)
            with self.lock:
                self.welcome(dashboard)
                self.dashboards.append(dashboard)
            self.log(f"dashboard attached from {peer}")
            while not dashboard.closed.is_set():
                line = reader.readline(wire.MAX_LINE_BYTES + 1)
                if not line:
                    break
                if not line.endswith(b"\n"):
                    raise wire.ProtocolError(f"a line longer than {wire.MAX_LINE_BYTES} bytes")
                try:
                    self._queue_command(wire.decode(line))
                except wire.ProtocolError as error:
                    self.log(f"ignored a message from {peer}: {error}")
        except (OSError, wire.ProtocolError) as error:
            self.log(f"dashboard {peer}: {error}")
        finally:
            if dashboard is not None:
                dashboard.close()
                self.log(f"dashboard {peer} detached")
            else:
                connection.close()

    def _refusal(self, hello: dict) -> str | None:
        if hello.get("type") != "hello":
            return "the first message must be a hello"
        if hello.get("schema") != wire.SCHEMA:
            return f"telemetry schema {hello.get('schema')} asked, this probe speaks schema {wire.SCHEMA}"
        if self.token is not None:
            given = hello.get("token")
            if not isinstance(given, str) or not hmac.compare_digest(given.encode(), self.token.encode()):
                return "a token is required (pass the one the probe printed with --token)"
        return None

    def _queue_command(self, message: dict):
        if message.get("type") != "command":
            raise wire.ProtocolError(f"unexpected message type {message.get('type')!r}")
        command = message.get("command")
        if not isinstance(command, dict) or len(command) != 1 or next(iter(command)) not in KNOWN_COMMANDS:
            raise wire.ProtocolError(f"not a command: {str(command)[:80]}")
        verb, arguments = next(iter(command.items()))
        if not isinstance(arguments, dict):
            raise wire.ProtocolError(f"the arguments of {verb} are not an object")
        try:
            self.commands.put_nowait((verb, arguments))
        except queue.Full:
            raise wire.ProtocolError(f"{COMMAND_LIMIT} commands are waiting for a step boundary; dropped") from None

    def broadcast(self, line: bytes):
        """Called under `lock` (the probe holds it while it records)."""
        self.dashboards = [d for d in self.dashboards if d.offer(line)]

    def welcome_all(self):
        """Sends every attached dashboard the run afresh (called under
        `lock`, after a rollback or fork changed the run)."""
        for dashboard in self.dashboards:
            self.welcome(dashboard)

    def drain(self, wait: float = 0.0):
        """The commands that arrived since the last call (waiting up to `wait`
        seconds for the first one)."""
        commands = []
        try:
            commands.append(self.commands.get(timeout=wait) if wait > 0 else self.commands.get_nowait())
            while True:
                commands.append(self.commands.get_nowait())
        except queue.Empty:
            pass
        return commands

    def close(self):
        self.closed.set()
        try:
            self.listener.close()
        except OSError:
            pass
        with self.lock:
            for dashboard in self.dashboards:
                dashboard.close()
            self.dashboards = []
        if self.unix_path and os.path.exists(self.unix_path):
            os.unlink(self.unix_path)
