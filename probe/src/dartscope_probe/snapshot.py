"""Snapshots in dartscope's folder format, so `dartscope genotype` and
`dartscope export` read a probe's architecture as they read the engine's:

    NAME/model.safetensors      the model's state_dict (α included), PyTorch names
    NAME/optimizer.safetensors  the optimisers' state tensors
    NAME/hessian_batch.safetensors  the α-Hessian's batch (inputs, labels), when given
    NAME/manifest.json          format "dartscope-probe-snapshot", version 1:
                                step, epoch, the space's operations and wiring,
                                which tensors are α, the genotype, and each
                                file's size and crc32

Written into a temporary folder, flushed and renamed into place: a crash
never leaves half a snapshot under the name. The safetensors writer is
here (not the `safetensors` package) so the probe depends on torch alone;
tensors are stored as F32 (floating point) or I64 (integer and boolean),
the dtypes dartscope reads."""

import ctypes
import json
import os
import shutil
import struct
import time
import zlib

import torch

FORMAT = "dartscope-probe-snapshot"
HESSIAN_BATCH = "hessian_batch.safetensors"  # the α-Hessian's batch: inputs, labels
VERSION = 1


def safetensors_bytes(tensors: dict) -> bytes:
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu()
        if tensor.is_floating_point():
            tensor, dtype = tensor.to(torch.float32), "F32"
        else:
            tensor, dtype = tensor.to(torch.int64), "I64"
        tensor = tensor.contiguous()
        # Raw little-endian bytes without numpy (the probe depends on torch alone).
        data = ctypes.string_at(tensor.data_ptr(), tensor.numel() * tensor.element_size()) if tensor.numel() else b""
        header[name] = {"dtype": dtype, "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    return struct.pack("<Q", len(encoded)) + encoded + b"".join(chunks)


def optimizer_tensors(prefix: str, optimizer, names: dict) -> dict:
    """`prefix.NAME.KEY` for every tensor in the optimiser's per-parameter
    state (momentum buffers, Adam moments), NAME the parameter's model name."""
    tensors = {}
    if optimizer is None:
        return tensors
    for parameter, state in optimizer.state.items():
        name = names.get(parameter, f"param{id(parameter)}")
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{name}.{key}"] = value
    return tensors


def write(directory: str, name: str, *, model, optimizers: dict, manifest: dict, extra_files=None) -> str:
    """Writes snapshot `directory/name` atomically and returns its path;
    `extra_files` maps further file names to dicts of tensors."""
    if not name or "/" in name or name.startswith(".") or any(ord(c) < 32 for c in name):
        raise ValueError("a snapshot name is one path component: not empty, no '/', no leading '.', no control characters")
    os.makedirs(directory, exist_ok=True)
    final = os.path.join(directory, name)
    temporary = os.path.join(directory, f".{name}.partial-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    os.makedirs(temporary)
    names = {parameter: key for key, parameter in model.named_parameters()}
    state = model.state_dict()
    for key, tensor in state.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ValueError(f"{key} holds a non-finite value; no snapshot is written")
    files = {
        "model.safetensors": safetensors_bytes(state),
        "optimizer.safetensors": safetensors_bytes(
            {k: v for prefix, opt in optimizers.items() for k, v in optimizer_tensors(prefix, opt, names).items()}),
    }
    files.update({file: safetensors_bytes(tensors) for file, tensors in (extra_files or {}).items()})
    records = {}
    for file, data in files.items():
        with open(os.path.join(temporary, file), "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        records[file] = {"bytes": len(data), "crc32": zlib.crc32(data) & 0xFFFFFFFF}
    body = dict(manifest, format=FORMAT, version=VERSION, name=name, files=records,
                created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    with open(os.path.join(temporary, "manifest.json"), "w") as handle:
        json.dump(body, handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    if os.path.exists(final):
        shutil.rmtree(final)
    os.rename(temporary, final)
    return final
