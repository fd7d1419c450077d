"""End to end: the example search with the probe, and the real `dartscope
attach` driven in tmux (keys in with send-keys, the screen out with
capture-pane); then the 2-rank torch.distributed example with a live `set`.
Needs the dartscope executable (DARTSCOPE_BIN, or .build/release/dartscope)
and tmux; scripts/test.sh provides both."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import Client
from test_probe import dartscope_binary

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "search.py")
SMALL = ["--space", "s3", "--images", "512", "--channels", "4", "--layers", "5", "--batch-size", "16", "--epochs", "50", "--threads", "1"]


def wait_for(condition, timeout=60.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


class Search:
    """The example search in the background, its log in a file."""

    def __init__(self, folder, *arguments):
        self.log_path = os.path.join(folder, "search.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([sys.executable, os.path.abspath(EXAMPLE), *SMALL, *arguments], cwd=folder,
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def text(self):
        with open(self.log_path) as handle:
            return handle.read()

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


class Tmux:
    def __init__(self, command, folder):
        if shutil.which("tmux") is None:
            pytest.fail("tmux is not installed (bash scripts/setup.sh installs it)")
        self.name = f"dartscope-attach-{os.getpid()}"
        script = f"env -u LINES -u COLUMNS TERM=tmux-256color LANG=C.UTF-8 {command}; echo DASHBOARD-EXITED status $?; sleep 60"
        # A tmux server still exiting after the last session closed can fail a new-session: retry.
        for _ in range(10):
            subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "160", "-y", "50", "-c", folder, script], capture_output=True)
            if subprocess.run(["tmux", "has-session", "-t", self.name], capture_output=True).returncode == 0:
                return
            time.sleep(0.3)
        raise AssertionError(f"tmux could not start session {self.name}")

    def screen(self):
        return subprocess.run(["tmux", "capture-pane", "-t", self.name, "-p"], capture_output=True, text=True).stdout

    def keys(self, *keys, literal=False):
        subprocess.run(["tmux", "send-keys", "-t", self.name] + (["-l"] if literal else []) + list(keys), check=True)

    def close(self):
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def shown_step(screen):
    found = re.search(r"step (\d+)/\d+", screen)
    return int(found.group(1)) if found else None


def test_attach_watches_and_steers_the_example_search(tmp_path):
    binary = dartscope_binary()
    socket_path = f"{tmp_path}/probe.sock"
    search = Search(str(tmp_path), "--listen", f"unix:{socket_path}", "--run-name", "e2e")
    tmux = None
    try:
        wait_for(lambda: "listening on" in search.text(), 120, "the probe to listen")
        tmux = Tmux(f"'{binary}' attach unix:{socket_path}", str(tmp_path))
        # The panels fill: the header names the remote run, its device and the step.
        screen = wait_for(lambda: (lambda s: s if "[probe unix:" in s and "e2e" in s and (shown_step(s) or 0) > 0 else None)(tmux.screen()),
                          90, "the dashboard to show the remote run")
        assert " cpu]" in screen and "s3" in screen, screen
        assert "optim.lr" in screen  # the parameters panel lists what the probe declares
        # Per-layer views: the example gives each cell its own softmax copy (cells 0, 2, 4 are normal).
        wait_for(lambda: re.search(r"layer-gradient cosine \(normal\) train -?\d\.\d{3} valid -?\d\.\d{3}", tmux.screen()), 30,
                 "the layer-gradient cosine panel to fill")
        assert "cell 4" in tmux.screen() and "no per-layer data" not in tmux.screen()

        tmux.keys(":set optim.lr 0.01", literal=True)
        tmux.keys("Enter")
        line = wait_for(lambda: re.search(r"step (\d+): set optim.lr 0.01 \(in force from step (\d+)", search.text()), 60,
                        "the set to reach the search")
        assert int(line.group(2)) == int(line.group(1)) + 1

        tmux.keys("Space")
        wait_for(lambda: "PAUSED" in tmux.screen(), 30, "PAUSED")
        time.sleep(1.0)
        paused_at = shown_step(tmux.screen())
        time.sleep(3.0)
        assert shown_step(tmux.screen()) == paused_at, "the step counter moved while paused"

        tmux.keys("s")
        snapshot = wait_for(lambda: re.search(r"snapshot (\S+/snapshots/manual-step\d+)", search.text()), 30, "the snapshot")
        printed = subprocess.run([binary, "genotype", os.path.join(str(tmp_path), snapshot.group(1))], capture_output=True, text=True)
        assert printed.returncode == 0 and printed.stdout.startswith("Genotype(normal=["), printed.stderr

        # :rollback to it, still paused: the search restores it at the boundary it holds at.
        name = os.path.basename(snapshot.group(1))
        tmux.keys(f":rollback {name}", literal=True)
        tmux.keys("Enter")
        rolled = wait_for(lambda: re.search(rf"step (\d+): rolled back to {name} \(step (\d+)", search.text()), 30, "the rollback")
        assert rolled.group(2) == name.removeprefix("manual-step")

        tmux.keys("Space")
        wait_for(lambda: (shown_step(tmux.screen()) or 0) > paused_at, 60, "the search to resume")

        tmux.keys("q")
        wait_for(lambda: "Detach?" in tmux.screen(), 10, "the detach question")
        tmux.keys("y")
        wait_for(lambda: "DASHBOARD-EXITED status 0" in tmux.screen(), 20, "the dashboard to exit")
        # Detached, not stopped: the search goes on, and takes a new dashboard.
        time.sleep(2.0)
        assert search.process.poll() is None, search.text()[-2000:]
        assert "stop" not in open(tmp_path / "runs" / "e2e" / "journal.jsonl").read()
        client = Client(f"unix:{socket_path}")
        assert client.read(10)["type"] == "hello"
        client.close()
    finally:
        if tmux:
            tmux.close()
        search.stop()


def test_two_ranks_apply_a_set_and_a_rollback_at_the_same_step(tmp_path):
    port = 29500 + os.getpid() % 400
    search = Search(str(tmp_path), "--listen", f"unix:{tmp_path}/probe.sock", "--run-name", "ranks", "--world-size", "2",
                    "--port", str(port))
    try:
        wait_for(lambda: "listening on" in search.text(), 180, "rank 0 to listen")
        client = Client(f"unix:{tmp_path}/probe.sock")
        hello = client.read(10)
        assert hello["world_size"] == 2
        client.read_until(lambda m: m["type"] == "step", 120)
        client.command({"set": {"key": "optim.lr", "value": 0.0125}})
        pattern = r"dartscope-probe\[rank (\d)\]: step (\d+): set optim.lr 0.0125 \(in force from step \d+; optim.lr now 0.0125\)"
        lines = wait_for(lambda: (lambda found: found if len(found) == 2 else None)(re.findall(pattern, search.text())), 90,
                         "both ranks to apply the set")
        assert sorted(rank for rank, _ in lines) == ["0", "1"]
        assert lines[0][1] == lines[1][1], lines
        # A rollback: rank 0 reads the snapshot, every rank restores it at the same boundary.
        client.command({"snapshot": {"name": "r"}})
        wait_for(lambda: re.search(r"snapshot \S+/snapshots/r\b", search.text()), 60, "the snapshot")
        client.command({"rollback": {"name": "r"}})
        pattern = r"rank (\d): restored step (\d+), epoch (\d+), parameter sum (\S+)"
        restored = wait_for(lambda: (lambda found: found if len(found) == 2 else None)(re.findall(pattern, search.text())), 90,
                            "both ranks to restore the snapshot")
        assert sorted(rank for rank, *_ in restored) == ["0", "1"]
        assert restored[0][1:] == restored[1][1:], restored  # same step, epoch and weights on both ranks
        rolled = re.findall(r"\[rank (\d)\]: step (\d+): rolled back to r \(step (\d+)", search.text())
        assert len(rolled) == 2 and rolled[0][1:] == rolled[1][1:] and rolled[0][2] == restored[0][1], rolled
        client.command({"stop": {}})
        search.process.wait(60)
        assert search.process.returncode == 0, search.text()[-2000:]
    finally:
        search.stop()
