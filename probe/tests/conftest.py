import json
import os
import socket
import sys
import time

import pytest
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))

from supernet import Supernet  # noqa: E402

S3 = ["none", "skip_connect", "sep_conv_3x3"]
# Tiny networks gain nothing from a second thread, and beside a busy core
# (a search under test, another job) OpenMP's spinning threads make a step
# 10-50x slower: the tests' own torch runs on one thread.
torch.set_num_threads(1)


class Client:
    """A minimal dashboard: says hello, reads lines, sends commands."""

    def __init__(self, address, token=None, schema=2):
        if address.startswith("unix:"):
            self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.socket.connect(address[5:])
        else:
            host, _, port = address.rpartition(":")
            self.socket = socket.create_connection((host.strip("[]"), int(port)))
        self.reader = self.socket.makefile("rb")
        self.send({"type": "hello", "schema": schema, "client": "test", "token": token})
        self.messages = []

    def send(self, message):
        self.socket.sendall((json.dumps(message) + "\n").encode())

    def command(self, command):
        self.send({"type": "command", "command": command})

    def read(self, timeout=5.0):
        self.socket.settimeout(timeout)
        line = self.reader.readline()
        if not line:
            return None
        message = json.loads(line)
        self.messages.append(message)
        return message

    def read_until(self, predicate, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            message = self.read(timeout=max(0.1, deadline - time.time()))
            if message is None:
                break
            if predicate(message):
                return message
        raise AssertionError(f"no matching message; got types {[m.get('type') for m in self.messages[-20:]]}")

    def close(self):
        self.socket.close()


def attached(probe):
    """A dashboard attached to `probe`, past the state a new one receives."""
    client = Client(probe.server.address)
    client.read_until(lambda m: m["type"] == "status")
    return client


@pytest.fixture
def tiny(tmp_path):
    """A tiny S3 supernet on random data, its optimisers and a batch."""
    torch.manual_seed(0)
    model = Supernet(channels=2, layers=3, nodes=2, primitives=S3)
    weights = torch.optim.SGD(model.weights(), 0.05, momentum=0.9, weight_decay=3e-4)
    arch = torch.optim.Adam(model.arch_parameters(), 3e-3, betas=(0.5, 0.999))
    x, y = torch.randn(8, 1, 12, 12), torch.randint(0, 10, (8,))
    return model, weights, arch, (x, y), tmp_path


def search_step(model, weights, arch, batch, probe):
    x, y = batch
    arch.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    arch.step()
    probe.arch_step(loss, 0.5)
    weights.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.weights(), 5.0)
    weights.step()
    probe.weight_step(loss, 0.25, grad_norm=norm)
