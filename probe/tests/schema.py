"""The telemetry schema of docs/telemetry.md as checks: every field each
event type must carry, with its JSON type. A number may be a non-finite
string ("nan", "inf", "-inf")."""

NUMBER = "number"
HEADER = {"type": str, "step": int, "epoch": int, "wall_time": NUMBER}
REQUIRED = {
    "run": {"schema": int, "producer": str, "run_name": str, "space": str, "dataset": str, "epochs": int,
            "steps_per_epoch": int, "cells": list, "cell_types": list, "edge_labels": list, "operations": dict,
            "parameters": list, "values": dict},
    "step": {"train_loss": NUMBER, "train_acc": NUMBER, "valid_loss": NUMBER, "valid_acc": NUMBER, "lr": NUMBER,
             "grad_norm": NUMBER, "clip_factor": NUMBER, "step_time": NUMBER},
    "epoch": {"train_loss": NUMBER, "train_acc": NUMBER, "valid_loss": NUMBER, "valid_acc": NUMBER, "genotype": str,
              "skip_count": int, "lr": NUMBER},
    "alphas": {"genotype": dict},
    "hessian": {"eigenvalue": NUMBER, "hvps": int, "lanczos_iterations": int, "seconds": NUMBER, "batch_loss": NUMBER,
                "epoch_end": bool},
    "alignment": {"layer_alpha_gradients": list},
    "control": {"command": str},
    "snapshot": {"name": str, "command": str},
    "error": {"message": str},
    "fork": {"from": str, "to": str, "snapshot": str},
}
STATES = {"RUNNING", "PAUSED", "STEPPING", "STOPPED", "FINISHED", "DIVERGED"}
KINDS = {"integer", "real", "flag", "choice", "text"}


def _is(value, kind):
    if kind == NUMBER:
        return (isinstance(value, (int, float)) and not isinstance(value, bool)) or value in ("nan", "inf", "-inf")
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def problems(message):
    """What is wrong with one message (empty when it conforms)."""
    kind = message.get("type")
    if kind == "hello":
        return [] if _is(message.get("schema"), int) and _is(message.get("world_size"), int) else ["hello lacks schema/world_size"]
    if kind == "status":
        found = [] if message.get("state") in STATES else [f"status state {message.get('state')!r}"]
        return found + ([] if isinstance(message.get("values"), dict) else ["status lacks values"])
    if kind not in REQUIRED:
        return [f"unknown type {kind!r}"]
    found = [f"{kind}.{field}" for field, t in {**HEADER, **REQUIRED[kind]}.items() if not _is(message.get(field), t)]
    if kind == "run":
        for parameter in message["parameters"]:
            if set(parameter) != {"key", "kind", "isLive", "documentation"} or len(parameter["kind"]) != 1 \
                    or next(iter(parameter["kind"])) not in KINDS:
                found.append(f"run.parameters {parameter}")
        for cell in message["cell_types"]:
            if cell not in message["operations"]:
                found.append(f"run.operations lacks {cell}")
    if kind == "alignment":
        for cell in [k[len("valid_cosine_"):] for k in message if k.startswith("valid_cosine_")]:
            for name in ("train", "valid"):
                matrix = message.get(f"{name}_cosine_{cell}")
                if not isinstance(matrix, list) or any(len(row) != len(matrix) for row in matrix):
                    found.append(f"{name}_cosine_{cell} is not square")
                elif any(abs(matrix[i][i] - 1) > 1e-9 for i in range(len(matrix))):
                    found.append(f"{name}_cosine_{cell} diagonal is not 1")
                if f"{name}_corr_{cell}" not in message:
                    found.append(f"{name}_corr_{cell} missing")
    if kind == "alphas":
        cells = [k[len("softmax_"):] for k in message if k.startswith("softmax_")]
        if "normal" not in cells:
            found.append("alphas lacks softmax_normal")
        for cell in cells:
            rows = message[f"softmax_{cell}"]
            if any(abs(sum(r) - 1) > 1e-6 for r in rows):
                found.append(f"softmax_{cell} rows do not sum to 1")
            if not isinstance(message.get(f"genotype_marks_{cell}"), list):
                found.append(f"genotype_marks_{cell}")
        layers = [message.get(k) for k in ("layer_softmax", "layer_genotype_marks", "layer_parameter_free")]
        if any(v is not None for v in layers):
            if not all(isinstance(v, list) for v in layers) or len({len(v) for v in layers}) != 1:
                found.append("alphas: layer_softmax, layer_genotype_marks, layer_parameter_free are lists of one length")
            elif any(abs(sum(r) - 1) > 1e-6 for cell in layers[0] for r in cell):
                found.append("layer_softmax rows do not sum to 1")
        genotype = message["genotype"]
        if not all(isinstance(genotype.get(k), list) for k in ("normal", "reduce", "concat")):
            found.append("alphas.genotype")
    return found
