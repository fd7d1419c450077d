"""The probe a PyTorch DARTS search wires in (docs/attach.md)."""

import collections
import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass

import torch

from . import genotype as rule
from . import hessian, snapshot, wire
from .knobs import Knob, optimizer_knob
from .server import ProbeServer

VERSION = "0.1.0"
DARTS_PRIMITIVES = ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
                    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"]


def darts_arch_parameters(model) -> dict:
    """The common layout of DARTS-style models: `alphas_normal` and
    `alphas_reduce` attributes (or an `arch_parameters()` method returning
    them in that order)."""
    if hasattr(model, "alphas_normal"):
        found = {"normal": model.alphas_normal}
        if getattr(model, "alphas_reduce", None) is not None:
            found["reduce"] = model.alphas_reduce
        return found
    if hasattr(model, "arch_parameters"):
        return dict(zip(["normal", "reduce"], model.arch_parameters()))
    raise ValueError("the model has neither alphas_normal nor arch_parameters(); pass arch_parameters={'normal': ..., 'reduce': ...}")


@dataclass
class _Architecture:
    """softmax(α) per cell type, the genotype's marks on it, and the genotype."""
    softmax: dict
    marks: dict
    normal: list
    reduce: list
    concat: tuple
    layer_softmax: list | None = None  # per-layer α: every cell's own softmax, marks, parameter-free count
    layer_marks: list | None = None
    layer_parameter_free: list | None = None

    @property
    def genotype(self) -> str:
        return rule.genotype_string(self.normal, self.reduce, self.concat)


def _cosine(a, b) -> float:
    norms = a.norm() * b.norm()
    return float(torch.dot(a, b) / norms) if norms > 0 else math.nan


def _number(value) -> float:
    if value is None:
        return math.nan
    if torch.is_tensor(value):
        return float(value.detach().item())
    return float(value)


class Probe:
    """Connects a running search to `dartscope attach`.

    Call `arch_step(...)` after the architecture step, `weight_step(...)`
    after the weight step (the step boundary: commands are applied there)
    and `epoch_end(...)` at each epoch's end; check `stopped` in the loop.
    Under torch.distributed every rank constructs the probe and makes the
    same calls; rank 0 owns the socket and reports its own batch's metrics
    (not reduced), and every command is applied on every rank at the same
    boundary.
    """

    def __init__(self, model, arch_parameters=None, weight_optimizer=None, arch_optimizer=None, *,
                 listen="127.0.0.1:7797", token=None, run_name="probe", space="darts", dataset="",
                 epochs=0, steps_per_epoch=0, operations=None, node_inputs=None, cells=None,
                 alphas_every=1, hessian_every=0, lanczos_iterations=20, run_dir=None, history=2000, quiet=False,
                 layer_weights=None, alignment_every=1, network=None, on_restore=None, layer_arch_parameters=None):
        self.model = model
        self.network = _network_description(network)
        # Per-layer α: every cell its own matrix, in cell order; each cell
        # type is then seen through its cells' mean softmax.
        self.layer_alphas = list(layer_arch_parameters) if layer_arch_parameters is not None else None
        if self.layer_alphas is not None:
            if arch_parameters is not None:
                raise ValueError("pass arch_parameters (α per cell type) or layer_arch_parameters (α per cell), not both")
            if not cells or len(cells) != len(self.layer_alphas):
                raise ValueError(f"layer_arch_parameters has {len(self.layer_alphas)} matrices: cells must name each one's type")
            arch = {cell: self.layer_alphas[list(cells).index(cell)] for cell in dict.fromkeys(cells)}
            for index, (cell, tensor) in enumerate(zip(cells, self.layer_alphas)):
                if tensor.shape != arch[cell].shape:
                    raise ValueError(f"α of cell {index} is {tuple(tensor.shape)}, its type's first cell's {tuple(arch[cell].shape)}")
        else:
            arch = arch_parameters if arch_parameters is not None else darts_arch_parameters(model)
        if not isinstance(arch, dict):
            arch = dict(zip(["normal", "reduce"], arch))
        self.arch = {name: tensor for name, tensor in arch.items() if tensor is not None}
        if "normal" not in self.arch:
            raise ValueError("arch_parameters needs a 'normal' entry (every space has a normal cell)")
        for name, tensor in self.arch.items():
            if tensor.dim() != 2:
                raise ValueError(f"α of the {name} cell must be a matrix (edges × operations), not of shape {tuple(tensor.shape)}")
        edges, width = self.arch["normal"].shape
        if operations is None:
            if width != len(DARTS_PRIMITIVES):
                raise ValueError(f"α has {width} operations per edge, not DARTS's 8: pass operations=[names]")
            operations = DARTS_PRIMITIVES
        if isinstance(operations, (list, tuple)) and operations and isinstance(operations[0], str):
            operations = {name: [list(operations)] * int(self.arch[name].shape[0]) for name in self.arch}
        self.operations = {name: [list(ops) for ops in operations[name]] for name in self.arch}
        for name, tensor in self.arch.items():
            if len(self.operations[name]) != tensor.shape[0] or any(len(o) != tensor.shape[1] for o in self.operations[name]):
                raise ValueError(f"operations of the {name} cell do not match its α of shape {tuple(tensor.shape)}")
        self.node_inputs = node_inputs or rule.darts_node_inputs(int(edges))
        self.weight_optimizer = weight_optimizer
        self.arch_optimizer = arch_optimizer
        self.run_name = run_name
        self._lineage = {run_name}  # this run and the runs it forked from: whose snapshots a rollback takes
        self.space = space
        self.dataset = dataset
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.cells = list(cells or [])
        self.alphas_every = alphas_every
        self.hessian_every = hessian_every
        self.lanczos_iterations = lanczos_iterations
        self.run_dir = run_dir or os.path.join("runs", run_name)
        # Per-layer views (Λ-DARTS): the per-cell softmax(α) tensors of the
        # last forward, each with retain_grad(), in cell order.
        self.layer_weights = layer_weights
        self.alignment_every = alignment_every
        self._valid_layers = None
        # Called as on_restore(step, epoch) on every rank after a rollback
        # restored a snapshot: the loop's position (data order, epoch, LR
        # schedule) is the script's to move (docs/attach.md).
        self.on_restore = on_restore
        self.quiet = quiet

        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        self.rank = torch.distributed.get_rank() if distributed else 0
        self.world_size = torch.distributed.get_world_size() if distributed else 1
        self.distributed = distributed and self.world_size > 1

        self.step = 0
        self.epoch = 0
        self.stopped = False
        self.state = "RUNNING"
        self.snapshots = _snapshots_on_disk(self.run_dir)
        self._paused = False
        self._steps_left = None
        self._pause_at_epoch_end = False
        self._valid = (math.nan, math.nan)
        self._start = time.perf_counter()
        self._last_boundary = self._start
        self._curvature_loss = None
        self._curvature_batch = None
        self._sequence = 0
        self._steps_history = collections.deque(maxlen=history)
        self._other_history = collections.deque(maxlen=history)
        # As many alignment reports as the dashboard's trend keeps: per-step
        # reports must not push epochs and commands out of the history.
        self._alignment_history = collections.deque(maxlen=400)
        self._last_alphas = None
        self.knobs: dict[str, Knob] = {}
        if weight_optimizer is not None:
            self.knob(optimizer_knob("optim.lr", weight_optimizer, "lr", 0.0, 10.0, "Weight learning rate (a scheduler overrides it at its next step)."))
            if "weight_decay" in weight_optimizer.param_groups[0]:
                self.knob(optimizer_knob("optim.weight_decay", weight_optimizer, "weight_decay", 0.0, 1.0, "Weight decay of the weight optimiser."))
        if arch_optimizer is not None:
            self.knob(optimizer_knob("optim.arch_lr", arch_optimizer, "lr", 0.0, 1.0, "Learning rate of α."))
        self.knob(Knob("hessian.every", lambda: self.hessian_every, self._set_hessian_every, "integer", 0, 1_000_000,
                       documentation="Steps between α-Hessian eigenvalue measurements (0: epoch ends only; needs probe.curvature(...))."))

        self.server = None
        if self.rank == 0:
            device = str(self._device())
            hello = {"type": "hello", "schema": wire.SCHEMA, "producer": f"dartscope-probe {VERSION}",
                     "device": device, "world_size": self.world_size}
            self.server = ProbeServer(listen, token, hello, self._welcome, self._log)
            self._log(f"listening on {self.server.address} (dartscope attach {self.server.address}"
                      + (f" --token {self.server.token})" if self.server.token else ")"))
            if self.server.token:
                self._log(f"token {self.server.token}")
            os.makedirs(self.run_dir, exist_ok=True)
            self._journal = open(os.path.join(self.run_dir, "journal.jsonl"), "a")

    # -- what the search loop calls -------------------------------------------

    def knob(self, knob: Knob) -> Knob:
        """Declares a live parameter (call before the first step: the run
        description a dashboard receives lists the knobs)."""
        self.knobs[knob.key] = knob
        return knob

    def curvature(self, loss_fn, batch=None):
        """Registers `loss_fn()`: the validation loss on a fixed batch, as a
        function of α with a graph. The dominant eigenvalue of its α-Hessian
        is measured every `hessian.every` steps and at each epoch end. Under
        DistributedDataParallel, compute it with the unwrapped module (no
        collective may run on one rank alone).

        `batch` = (inputs, labels), the batch `loss_fn` uses: snapshots then
        store it, so `dartscope hessian` takes the full α-Hessian on the same
        pixels (with `network=` declared; docs/attach.md)."""
        self._curvature_loss = loss_fn
        self._curvature_batch = None
        if batch is not None:
            inputs, labels = batch
            if inputs.dim() != 4 or labels.dim() != 1 or inputs.shape[0] != labels.shape[0] or inputs.shape[0] < 2:
                raise ValueError("batch is (inputs N×C×H×W, labels N) with N ≥ 2")
            self._curvature_batch = (inputs, labels)

    def arch_step(self, valid_loss, valid_acc=None):
        self._valid = (_number(valid_loss), _number(valid_acc))
        if self.layer_weights is not None and self.rank == 0:
            self._valid_layers = self._layer_gradients()

    def weight_step(self, train_loss, train_acc=None, grad_norm=None, clip_factor=1.0, lr=None):
        """Ends a search step: reports it, measures what is due, then applies
        the dashboard's commands (and holds here while paused)."""
        self.step += 1
        now = time.perf_counter()
        if self.rank == 0:
            self._record("step", train_loss=_number(train_loss), train_acc=_number(train_acc), valid_loss=self._valid[0],
                         valid_acc=self._valid[1], lr=_number(lr) if lr is not None else self._lr(), grad_norm=_number(grad_norm),
                         clip_factor=_number(clip_factor), step_time=now - self._last_boundary)
            if self.alphas_every and self.step % self.alphas_every == 0:
                self._record_alphas(self._architecture())
            if self.layer_weights is not None and self.alignment_every and self.step % self.alignment_every == 0:
                self._record_alignment(self._layer_gradients(), self._valid_layers)
            if self.hessian_every and self.step % self.hessian_every == 0:
                self._measure_curvature(epoch_end=False)
        if self._steps_left is not None:
            self._steps_left -= 1
            if self._steps_left <= 0:
                self._steps_left = None
                self._set_paused(True)
        self._boundary()
        self._last_boundary = time.perf_counter()

    def epoch_end(self, train_loss=None, train_acc=None, valid_loss=None, valid_acc=None, **extra):
        """Reports the epoch (means over it, and the validation split's)."""
        if self.rank == 0:
            architecture = self._architecture()
            normal_ops = [op for op, _ in architecture.normal]
            self._record("epoch", train_loss=_number(train_loss), train_acc=_number(train_acc), valid_loss=_number(valid_loss),
                         valid_acc=_number(valid_acc), genotype=architecture.genotype,
                         skip_count=normal_ops.count("skip_connect"),
                         parameter_free_count=sum(op in rule.PARAMETER_FREE for op in normal_ops),
                         normal_edges=len(normal_ops), lr=self._lr(), **{k: _number(v) for k, v in extra.items()})
            self._record_alphas(architecture)
            self._measure_curvature(epoch_end=True)
        self.epoch += 1
        if self._pause_at_epoch_end:
            self._pause_at_epoch_end = False
            self._set_paused(True)
        self._boundary()
        self._last_boundary = time.perf_counter()

    def close(self, finished=True):
        """The search is over: dashboards see FINISHED (or STOPPED) and the socket closes."""
        if self.server is not None:
            self._set_state("STOPPED" if self.stopped or not finished else "FINISHED")
            time.sleep(0.2)  # let the writers deliver the last status
            self.server.close()
            self._journal.close()
            self.server = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(finished=exc[0] is None)

    # -- the step boundary ------------------------------------------------------

    def _boundary(self):
        while True:
            commands = self.server.drain(wait=0.2 if self._paused else 0.0) if self.server is not None else []
            if self.distributed:
                commands = self._broadcast(commands)
            for verb, arguments in commands:
                self._apply(verb, arguments)
            if not self._paused or self.stopped:
                return

    def _broadcast(self, commands):
        """Rank 0's commands on every rank: two small collectives, entered by
        every rank at every boundary, so no rank can wait for one that never
        comes."""
        return [tuple(c) for c in self._broadcast_json(commands, empty=[])]

    def _collective_device(self):
        return torch.device("cuda", torch.cuda.current_device()) if torch.distributed.get_backend() == "nccl" else torch.device("cpu")

    def _broadcast_json(self, value, empty):
        """Rank 0's JSON-able `value` on every rank: its length, then (when
        not `empty`) its bytes. (Not broadcast_object_list: it needs numpy,
        the probe needs torch alone.)"""
        device = self._collective_device()
        data = json.dumps(value).encode() if self.rank == 0 and value != empty else b""
        size = torch.tensor([len(data)], dtype=torch.int64, device=device)
        torch.distributed.broadcast(size, src=0)
        count = int(size.item())
        if count == 0:
            return empty
        buffer = (torch.frombuffer(bytearray(data), dtype=torch.uint8).to(device) if self.rank == 0
                  else torch.empty(count, dtype=torch.uint8, device=device))
        torch.distributed.broadcast(buffer, src=0)
        return json.loads(bytes(buffer.cpu().tolist()).decode())

    def _apply(self, verb, arguments):
        command = {verb: arguments}
        text = verb
        at_step, at_epoch = self.step, self.epoch  # where the command took effect (a rollback moves them)
        try:
            if verb in _NAMED:
                name = arguments.get("name")
                if not isinstance(name, str):
                    raise ValueError(f"{verb} takes {_NAMED[verb]}")
                text = f"{verb} {name}"
            if verb == "pause":
                self._set_paused(True)
            elif verb == "resume":
                self._steps_left = None
                self._set_paused(False)
            elif verb == "step":
                count = arguments.get("count")
                if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                    raise ValueError("step takes a count ≥ 1")
                text = f"step {count}"
                self._steps_left = count
                self._set_paused(False, state="STEPPING")
            elif verb == "stepEpoch":
                text = "step epoch"
                self._pause_at_epoch_end = True
                self._set_paused(False, state="STEPPING")
            elif verb == "set":
                key, value = arguments.get("key"), arguments.get("value")
                text = f"set {key} {value}"
                knob = self.knobs.get(key)
                if knob is None:
                    raise ValueError(f"unknown parameter {key!r}; this probe declares {', '.join(sorted(self.knobs))}")
                value = knob.coerce(value)
                knob.set(value)
                text = f"set {key} {value}"
                self._log(f"step {self.step}: {text} (in force from step {self.step + 1}; {key} now {knob.value()})", every_rank=True)
                if self.rank == 0:
                    self._record("control", command=text, key=key)
                    self._status()
            elif verb == "snapshot":
                if self.rank == 0:
                    path = self.write_snapshot(name)
                    self._log(f"step {self.step}: snapshot {path}")
                    self._record("snapshot", name=name, command=text)
                    if name not in self.snapshots:
                        self.snapshots.append(name)
                    self._status()
            elif verb == "stop":
                self.stopped = True
                self._log(f"step {self.step}: stop (asked by the dashboard)", every_rank=True)
                self._set_state("STOPPED")
            elif verb == "rollback":
                self._restore(name)
            elif verb == "fork":
                self._fork(name)
            else:
                raise ValueError(f"{verb} is not a command the probe knows")
            if self.rank == 0:
                if verb != "set":
                    self._record("control", command=text)
                self._journal.write(json.dumps({"step": at_step, "epoch": at_epoch, "command": command}, sort_keys=True) + "\n")
                self._journal.flush()
        except (ValueError, OSError) as error:
            if self.rank == 0:
                self._log(f"step {self.step}: refused {text}: {error}")
                self._record("error", message=f"refused {text}: {error}")

    def _set_paused(self, paused, state=None):
        self._paused = paused
        self._set_state(state or ("PAUSED" if paused else "RUNNING"))

    def _set_state(self, state):
        self.state = state
        if self.rank == 0:
            self._status()

    def _set_hessian_every(self, value):
        self.hessian_every = int(value)

    # -- telemetry --------------------------------------------------------------

    def _header(self, kind):
        return {"type": kind, "step": self.step, "epoch": self.epoch, "wall_time": time.perf_counter() - self._start}

    def _record(self, kind, **fields):
        line = wire.encode(dict(self._header(kind), **fields))
        with self.server.lock:
            self._sequence += 1
            if kind == "step":
                self._steps_history.append((self._sequence, line))
            elif kind == "alphas":
                self._last_alphas = (self._sequence, line)
            elif kind == "alignment":
                self._alignment_history.append((self._sequence, line))
            else:
                self._other_history.append((self._sequence, line))
            self.server.broadcast(line)

    def _status(self, message=None):
        fields = {"state": self.state, "values": self.values(), "snapshots": list(self.snapshots)}
        if message:
            fields["message"] = message
        line = wire.encode(dict(type="status", **fields))
        with self.server.lock:
            self.server.broadcast(line)

    def _welcome(self, dashboard):
        """A dashboard attached (called under the server's lock): the run,
        its recent history in order, the last α and the state, at once."""
        dashboard.offer(wire.encode(self.run_description()))
        history = sorted(list(self._steps_history) + list(self._other_history) + list(self._alignment_history)
                         + ([self._last_alphas] if self._last_alphas else []))
        for _, line in history:
            dashboard.offer(line)
        dashboard.offer(wire.encode({"type": "status", "state": self.state, "values": self.values(), "snapshots": list(self.snapshots)}))

    def values(self):
        return {key: knob.value() for key, knob in self.knobs.items()}

    def run_description(self):
        edge_labels = [rule.edge_label(node, state) for node, inputs in enumerate(self.node_inputs) for state in inputs]
        return dict(self._header("run"), schema=wire.SCHEMA, producer=f"dartscope-probe {VERSION}", run_name=self.run_name,
                    space=self.space, dataset=self.dataset, epochs=self.epochs, steps_per_epoch=self.steps_per_epoch,
                    cells=self.cells, cell_types=list(self.arch), edge_labels=edge_labels, operations=self.operations,
                    parameters=[k.descriptor() for k in self.knobs.values()], values=self.values())

    def _architecture(self):
        """softmax(α) and the genotype DARTS's rule derives from it, now;
        with per-layer α each type's softmax is its cells' mean (the
        headline genotype), and every cell's own is kept beside it."""
        with torch.no_grad():
            if self.layer_alphas is None:
                softmax = {name: torch.softmax(t.detach().double(), dim=-1).cpu() for name, t in self.arch.items()}
                layers = None
            else:
                layers = [torch.softmax(t.detach().double(), dim=-1).cpu() for t in self.layer_alphas]
                softmax = {name: torch.stack([w for w, c in zip(layers, self.cells) if c == name]).mean(0) for name in self.arch}
        softmax = {name: w.tolist() for name, w in softmax.items()}
        derived = {name: rule.derive(softmax[name], self.operations[name], self.node_inputs) for name in self.arch}
        architecture = _Architecture(softmax=softmax, marks={name: marks for name, (_, marks) in derived.items()},
                                     normal=derived["normal"][0], reduce=derived.get("reduce", derived["normal"])[0],
                                     concat=(2, 2 + len(self.node_inputs)))
        if layers is not None:
            architecture.layer_softmax = [w.tolist() for w in layers]
            own = [rule.derive(w, self.operations[c], self.node_inputs) for w, c in zip(architecture.layer_softmax, self.cells)]
            architecture.layer_marks = [marks for _, marks in own]
            architecture.layer_parameter_free = [sum(op in rule.PARAMETER_FREE for op, _ in edges) for edges, _ in own]
        return architecture

    def _record_alphas(self, architecture):
        fields = {}
        for name in self.arch:
            fields[f"softmax_{name}"] = architecture.softmax[name]
            fields[f"genotype_marks_{name}"] = architecture.marks[name]
        if architecture.layer_softmax is not None:
            fields.update(layer_softmax=architecture.layer_softmax, layer_genotype_marks=architecture.layer_marks,
                          layer_parameter_free=architecture.layer_parameter_free)
        fields["genotype"] = {"normal": [{"op": op, "input": s} for op, s in architecture.normal],
                              "reduce": [{"op": op, "input": s} for op, s in architecture.reduce], "concat": list(architecture.concat)}
        self._record("alphas", **fields)

    def _layer_gradients(self):
        """Λ_l: each cell's contribution to ∂L/∂α, from the gradient its own
        softmax copy received (the chain rule through softmax, row by row:
        w ⊙ (g − ⟨w, g⟩)). None when a copy has no gradient."""
        gradients = []
        for weights in self.layer_weights():
            if weights.grad is None:
                return None
            w, g = weights.detach().double(), weights.grad.detach().double()
            gradients.append((w * (g - (w * g).sum(-1, keepdim=True))).cpu())
        return gradients

    def _record_alignment(self, train, valid):
        if train is None or valid is None or len(train) != len(self.cells) or len(valid) != len(self.cells):
            return
        fields = {"layer_alpha_gradients": [g.tolist() for g in valid]}
        for cell_type in self.arch:
            members = [i for i, c in enumerate(self.cells) if c == cell_type]
            for name, grads in (("train", train), ("valid", valid)):
                flat = [grads[i].reshape(-1) for i in members]
                matrix = [[_cosine(a, b) for b in flat] for a in flat]
                pairs = [matrix[i][j] for i in range(len(flat)) for j in range(i + 1, len(flat))]
                fields[f"{name}_cosine_{cell_type}"] = matrix
                fields[f"{name}_corr_{cell_type}"] = sum(pairs) / len(pairs) if pairs else None
        self._record("alignment", **fields)

    def _measure_curvature(self, epoch_end):
        if self._curvature_loss is None:
            return
        start = time.perf_counter()
        try:
            with hessian.preserved(self.model):
                value, products, loss = hessian.dominant_eigenvalue(self._curvature_loss, self._alpha_tensors(), self.lanczos_iterations)
        except RuntimeError as error:
            self._record("error", message=f"eigenvalue measurement failed: {error}")
            return
        self._record("hessian", eigenvalue=value, hvps=products, lanczos_iterations=products,
                     seconds=time.perf_counter() - start, batch_loss=loss, epoch_end=epoch_end)

    def _lr(self):
        return float(self.weight_optimizer.param_groups[0]["lr"]) if self.weight_optimizer is not None else math.nan

    # -- snapshots ----------------------------------------------------------------

    def write_snapshot(self, name):
        """Writes runs/RUN/snapshots/NAME in dartscope's folder format."""
        manifest = {"producer": f"dartscope-probe {VERSION}", "run_name": self.run_name, "space": self.space,
                    "dataset": self.dataset, "step": self.step, "epoch": self.epoch,
                    "operations": self.operations, "node_inputs": self.node_inputs,
                    "alphas": {} if self.layer_alphas else {cell: self._parameter_name(t) for cell, t in self.arch.items()},
                    "genotype": self._architecture().genotype, "values": self.values()}
        if self.cells:
            manifest["cells"] = self.cells
        if self.layer_alphas is not None:
            manifest["layer_alphas"] = [self._parameter_name(t) for t in self.layer_alphas]
        extra = {}
        if self.network is not None:
            manifest["network"] = dict(self.network)
        if self._curvature_batch is not None:
            inputs, labels = self._curvature_batch
            extra[snapshot.HESSIAN_BATCH] = {"inputs": inputs, "labels": labels}
        extra[snapshot.RNG] = self._random_state()
        optimizers = {"weight": self.weight_optimizer, "arch": self.arch_optimizer}
        return snapshot.write(os.path.join(self.run_dir, "snapshots"), name, model=self.model, optimizers=optimizers,
                              manifest=manifest, extra_files=extra)

    def _device(self):
        return next(iter(self.arch.values())).device

    def _random_state(self):
        """torch's generators a snapshot keeps: the CPU's, and the model's CUDA device's."""
        state = {"cpu": torch.get_rng_state()}
        if self._device().type == "cuda":
            state["cuda"] = torch.cuda.get_rng_state(self._device())
        return state

    def _alpha_tensors(self):
        """Every α matrix: one per cell type, or with per-layer α one per cell."""
        return list(self.layer_alphas) if self.layer_alphas is not None else list(self.arch.values())

    # -- rollback and fork --------------------------------------------------------

    def _restore(self, name):
        """`:rollback NAME`: the model (weights, α, BN buffers), the
        optimisers' state, the knobs' values and the probe's step and epoch
        become snapshot NAME's, on every rank (rank 0 reads the files and
        broadcasts what they hold); rank 0's torch random state too. Nothing
        changes unless all of it checks out. The script's loop position is
        moved by its `on_restore` hook."""
        plan, error = None, None
        if self.rank == 0:
            try:
                plan = self._restore_plan(os.path.join(self.run_dir, "snapshots", name))
            except ValueError as failure:
                error = str(failure)
        if self.distributed:
            plan, error = self._broadcast_plan(plan, error)
        if error:
            raise ValueError(error)
        at_step = self.step
        self._apply_plan(plan)
        self._log(f"step {at_step}: rolled back to {name} (step {self.step}, epoch {self.epoch})", every_rank=True)
        if self.rank == 0:
            self._announce_run()
        if self.on_restore is not None:
            self.on_restore(self.step, self.epoch)

    def _optimizer_parameters(self, optimizer):
        members = {id(p) for group in optimizer.param_groups for p in group["params"]}
        return {name: p for name, p in self.model.named_parameters() if id(p) in members}

    def _optimizers(self):
        return [(prefix, opt) for prefix, opt in (("weight", self.weight_optimizer), ("arch", self.arch_optimizer)) if opt is not None]

    def _restore_plan(self, folder):
        """What snapshot `folder` restores, checked against this model, its
        optimisers and knobs (a SnapshotError names the first mismatch)."""
        manifest, files = snapshot.read(folder)
        fail = snapshot.SnapshotError
        if manifest.get("run_name") not in self._lineage:
            raise fail(f"{folder}: a snapshot of run {str(manifest.get('run_name'))[:80]!r}, not of this run ({self.run_name!r})")
        step, epoch = manifest.get("step"), manifest.get("epoch")
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (step, epoch)):
            raise fail(f"{folder}: step and epoch must be whole numbers ≥ 0")
        if self.steps_per_epoch and not epoch * self.steps_per_epoch <= step <= (epoch + 1) * self.steps_per_epoch:
            raise fail(f"{folder}: step {step} is not in epoch {epoch} ({self.steps_per_epoch} steps per epoch)")
        if self.epochs and epoch > self.epochs:
            raise fail(f"{folder}: epoch {epoch} is past the run's {self.epochs}")
        state, stored = self.model.state_dict(), files["model.safetensors"]
        missing, unexpected = sorted(set(state) - set(stored)), sorted(set(stored) - set(state))
        if missing or unexpected:
            raise fail(f"{folder}: model.safetensors does not fit this model (missing {missing[:3]}, unexpected {unexpected[:3]})")
        for key, tensor in stored.items():
            if tuple(tensor.shape) != tuple(state[key].shape) or tensor.is_floating_point() != state[key].is_floating_point():
                raise fail(f"{folder}: {key} is {tuple(tensor.shape)} {tensor.dtype}, the model's {tuple(state[key].shape)} {state[key].dtype}")
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                raise fail(f"{folder}: {key} holds a non-finite value")
        optimizers = {prefix: {} for prefix, _ in self._optimizers()}
        parameters = {prefix: self._optimizer_parameters(opt) for prefix, opt in self._optimizers()}
        for key, tensor in files.get("optimizer.safetensors", {}).items():
            prefix, _, rest = key.partition(".")
            name, _, entry = rest.rpartition(".")
            parameter = parameters.get(prefix, {}).get(name)
            if parameter is None or not entry:
                raise fail(f"{folder}: optimizer.safetensors: {key[:120]} is no optimiser state of this model's parameters")
            if tensor.dim() and tuple(tensor.shape) != tuple(parameter.shape):
                raise fail(f"{folder}: {key} is {tuple(tensor.shape)}, its parameter {tuple(parameter.shape)}")
            if not tensor.is_floating_point() or not torch.isfinite(tensor).all():
                raise fail(f"{folder}: {key} must hold finite floating-point values")
            optimizers[prefix][(name, entry)] = tensor
        values = manifest.get("values", {})
        if not isinstance(values, dict):
            raise fail(f"{folder}: values must be an object")
        try:
            values = {key: self.knobs[key].coerce(value) for key, value in values.items() if key in self.knobs}
        except ValueError as error:
            raise fail(f"{folder}: values: {error}") from None
        rng, now = files.get(snapshot.RNG, {}), self._random_state()
        for device, tensor in rng.items():
            current = now.get(device)
            if current is None or tensor.shape != current.shape or tensor.is_floating_point() or tensor.min() < 0 or tensor.max() > 255:
                raise fail(f"{folder}: {snapshot.RNG}: {device[:20]} is not a random state this process can take")
        return {"step": step, "epoch": epoch, "values": values, "model": stored, "optimizers": optimizers,
                "rng": {device: tensor.to(torch.uint8) for device, tensor in rng.items()}}

    def _broadcast_plan(self, plan, error):
        """Rank 0's plan on every rank: its description as JSON, then each
        tensor (the random state stays rank 0's)."""
        tensors = []
        if self.rank == 0 and plan is not None:
            tensors = [("model", key, tensor) for key, tensor in sorted(plan["model"].items())]
            tensors += [(prefix, f"{name}\x00{entry}", tensor) for prefix, group in plan["optimizers"].items()
                        for (name, entry), tensor in sorted(group.items())]
        description = {"error": error}
        if plan is not None:
            description.update(step=plan["step"], epoch=plan["epoch"], values=plan["values"],
                               tensors=[[group, key, str(t.dtype).removeprefix("torch."), list(t.shape)] for group, key, t in tensors])
        description = self._broadcast_json(description, empty=None)
        if description["error"]:
            return None, description["error"]
        device = self._collective_device()
        received = {"step": description["step"], "epoch": description["epoch"], "values": description["values"],
                    "model": {}, "optimizers": {prefix: {} for prefix, _ in self._optimizers()}, "rng": plan["rng"] if plan else {}}
        for index, (group, key, dtype, shape) in enumerate(description["tensors"]):
            tensor = (tensors[index][2].to(device) if self.rank == 0
                      else torch.empty(shape, dtype=getattr(torch, dtype), device=device))
            torch.distributed.broadcast(tensor, src=0)
            if group == "model":
                received["model"][key] = tensor.cpu()
            else:
                received["optimizers"][group][tuple(key.split("\x00"))] = tensor.cpu()
        return received, None

    def _apply_plan(self, plan):
        with torch.no_grad():
            self.model.load_state_dict(plan["model"], strict=True)
        for prefix, optimizer in self._optimizers():
            parameters = self._optimizer_parameters(optimizer)
            restored = collections.defaultdict(dict)
            for (name, entry), tensor in plan["optimizers"][prefix].items():
                parameter = parameters[name]
                before = optimizer.state.get(parameter, {}).get(entry)
                if entry == "step" and tensor.dim() == 0:
                    # Adam keeps its count where it had it (a CPU float unless capturable or fused).
                    value = tensor.to(before.device, before.dtype) if torch.is_tensor(before) else tensor.to(torch.float32)
                else:
                    value = tensor.to(parameter.device, parameter.dtype)
                restored[parameter][entry] = value
            optimizer.state = restored
        for key, value in plan["values"].items():
            self.knobs[key].set(value)
        self.step, self.epoch = plan["step"], plan["epoch"]
        self._valid_layers = None
        for device, state in plan["rng"].items():
            if device == "cpu":
                torch.set_rng_state(state)
            else:
                torch.cuda.set_rng_state(state, self._device())

    def _announce_run(self):
        """After a rollback or fork (rank 0): the history past the new step
        is dropped and every dashboard receives the run afresh, as a late
        one would, then the restored α."""
        def kept(entries):
            return [entry for entry in entries if json.loads(entry[1])["step"] <= self.step]

        with self.server.lock:
            self._steps_history = collections.deque(kept(self._steps_history), maxlen=self._steps_history.maxlen)
            self._other_history = collections.deque(kept(self._other_history), maxlen=self._other_history.maxlen)
            self._alignment_history = collections.deque(kept(self._alignment_history), maxlen=self._alignment_history.maxlen)
            self._last_alphas = None
            self.server.welcome_all()
        self._record_alphas(self._architecture())

    def _fork(self, name):
        """`:fork NAME`: the run so far stays behind as snapshot fork-NAME of
        this run, and the search goes on as run NAME (its folder beside this
        one: the snapshot, the journal so far). Unlike the engine's fork the
        original does not also go on: it is one PyTorch process."""
        snapshot.check_path_component(name, "a fork's run name")
        if name == self.run_name:
            raise ValueError(f"{name} is this run's name: fork to a new one")
        target = os.path.join(os.path.dirname(os.path.abspath(self.run_dir)), name)
        error, kept = None, f"fork-{name}"
        if self.rank == 0:
            try:
                if os.path.exists(target):
                    raise ValueError(f"{target} exists: fork to a new run name")
                path = self.write_snapshot(kept)
                os.makedirs(os.path.join(target, "snapshots"))
                shutil.copytree(path, os.path.join(target, "snapshots", kept))
                self._journal.close()
                shutil.copyfile(os.path.join(self.run_dir, "journal.jsonl"), os.path.join(target, "journal.jsonl"))
                self._journal = open(os.path.join(target, "journal.jsonl"), "a")
            except (ValueError, OSError) as failure:
                error = str(failure)
                if self._journal.closed:
                    self._journal = open(os.path.join(self.run_dir, "journal.jsonl"), "a")
        if self.distributed:
            error = self._broadcast_json(error, empty=None)
        if error:
            raise ValueError(error)
        parent, self.run_name, self.run_dir = self.run_name, name, target
        self._lineage.add(name)
        self._log(f"step {self.step}: forked: run {parent} stays behind as snapshot {kept}; this search goes on as run {name} ({target})",
                  every_rank=True)
        if self.rank == 0:
            self.snapshots = [kept]
            self._record("fork", **{"from": parent, "to": name, "snapshot": kept})
            self._announce_run()

    def _parameter_name(self, tensor):
        for key, value in self.model.state_dict(keep_vars=True).items():
            if value is tensor:
                return key
        raise ValueError("an α tensor is not in the model's state_dict: register it as a parameter of the model")

    def _log(self, message, every_rank=False):
        if self.quiet or (self.rank != 0 and not every_rank):
            return
        prefix = "dartscope-probe" + (f"[rank {self.rank}]" if self.world_size > 1 else "")
        print(f"{prefix}: {message}", file=sys.stderr, flush=True)


_NAMED = {"snapshot": "a name", "rollback": "a snapshot name", "fork": "a run name"}  # the commands that take one


def _snapshots_on_disk(run_dir):
    """The snapshots an earlier process of this run left (so `:rollback`
    completes them), oldest first."""
    folder = os.path.join(run_dir, "snapshots")
    try:
        names = [n for n in os.listdir(folder) if not n.startswith(".") and os.path.isfile(os.path.join(folder, n, "manifest.json"))]
    except OSError:
        return []
    return sorted(names, key=lambda n: os.stat(os.path.join(folder, n, "manifest.json")).st_mtime)


_NETWORK_KEYS = {"init_channels": int, "layers": int, "classes": int, "in_channels": int, "parameter_names": dict}


def _network_description(network):
    """Checks `Probe(network=...)`: how dartscope rebuilds the model as its
    own supernet (C, L, classes, input channels; `parameter_names` maps
    dartscope's state_dict names to the model's where they differ)."""
    if network is None:
        return None
    if not isinstance(network, dict):
        raise ValueError("network is a dict: init_channels, layers, classes, in_channels[, parameter_names]")
    unknown = set(network) - set(_NETWORK_KEYS)
    missing = {"init_channels", "layers", "classes", "in_channels"} - set(network)
    if unknown or missing:
        raise ValueError(f"network: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
    for key, kind in _NETWORK_KEYS.items():
        if key in network and not isinstance(network[key], kind):
            raise ValueError(f"network.{key} must be {kind.__name__}")
    names = network.get("parameter_names", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in names.items()):
        raise ValueError("network.parameter_names maps names to names")
    return dict(network)
