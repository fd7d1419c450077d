"""Snapshots in dartscope's folder format, so `dartscope genotype` and
`dartscope export` read a probe's architecture as they read the engine's:

    NAME/model.safetensors      the model's state_dict (α included), PyTorch names
    NAME/optimizer.safetensors  the optimisers' state tensors
    NAME/hessian_batch.safetensors  the α-Hessian's batch (inputs, labels), when given
    NAME/rng.safetensors        torch's random state on rank 0 (CPU, and the
                                model's CUDA device when it has one)
    NAME/manifest.json          format "dartscope-probe-snapshot", version 1:
                                step, epoch, the space's operations and wiring,
                                which tensors are α, the genotype, and each
                                file's size and crc32

Written into a temporary folder, flushed and renamed into place: a crash
never leaves half a snapshot under the name. The safetensors writer is
here (not the `safetensors` package) so the probe depends on torch alone;
tensors are stored as F32 (floating point) or I64 (integer and boolean),
the dtypes dartscope reads.

`read` is the other half, for `:rollback`: a snapshot folder is untrusted
input (a crash, a full disk, another program, a hand edit), so every size,
checksum, offset and shape is checked before anything is allocated from it
or restored."""

import ctypes
import json
import math
import os
import shutil
import struct
import time
import zlib

import torch

FORMAT = "dartscope-probe-snapshot"
HESSIAN_BATCH = "hessian_batch.safetensors"  # the α-Hessian's batch: inputs, labels
RNG = "rng.safetensors"  # torch's random state: cpu[, cuda]
VERSION = 1
MANIFEST_LIMIT = 64 << 20  # bytes; dartscope's own bound on a manifest
HEADER_LIMIT = 100 << 20  # bytes of a safetensors JSON header
DTYPES = {"F32": (torch.float32, 4), "I64": (torch.int64, 8)}


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


def check_path_component(name: str, what: str):
    """Snapshot and run names become folder names: one path component."""
    if not name or "/" in name or name.startswith(".") or any(ord(c) < 32 for c in name):
        raise ValueError(f"{what} is one path component: not empty, no '/', no leading '.', no control characters")


def write(directory: str, name: str, *, model, optimizers: dict, manifest: dict, extra_files=None) -> str:
    """Writes snapshot `directory/name` atomically and returns its path;
    `extra_files` maps further file names to dicts of tensors."""
    check_path_component(name, "a snapshot name")
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


class SnapshotError(ValueError):
    """A snapshot that cannot be restored; the message names the file and what is wrong."""


def parse_safetensors(data: bytes, file: str) -> dict:
    """The tensors of a safetensors file, every header field checked first."""
    if len(data) < 8:
        raise SnapshotError(f"{file}: {len(data)} bytes, shorter than a safetensors header")
    (length,) = struct.unpack("<Q", data[:8])
    if length > HEADER_LIMIT or 8 + length > len(data):
        raise SnapshotError(f"{file}: header of {length} bytes in a file of {len(data)}")
    try:
        header = json.loads(data[8:8 + length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SnapshotError(f"{file}: header is not JSON ({error})") from None
    if not isinstance(header, dict):
        raise SnapshotError(f"{file}: header is not a JSON object")
    body = memoryview(data)[8 + length:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict) or entry.get("dtype") not in DTYPES:
            raise SnapshotError(f"{file}: {name}: dtype must be one of {', '.join(DTYPES)}")
        dtype, size = DTYPES[entry["dtype"]]
        shape, offsets = entry.get("shape"), entry.get("data_offsets")
        if (not isinstance(shape, list) or len(shape) > 8
                or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 1 << 40 for d in shape)):
            raise SnapshotError(f"{file}: {name}: shape {str(shape)[:80]} is not a list of sizes")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)):
            raise SnapshotError(f"{file}: {name}: data_offsets must be two integers")
        start, end = offsets
        count = math.prod(shape)
        if not 0 <= start <= end <= len(body) or end - start != count * size:
            raise SnapshotError(f"{file}: {name}: bytes {start}…{end} do not hold {count} values of {entry['dtype']} "
                                f"within the file's {len(body)} data bytes")
        tensors[name] = (torch.frombuffer(bytearray(body[start:end]), dtype=dtype).reshape(shape) if count
                         else torch.empty(shape, dtype=dtype))
    return tensors


def read(folder: str) -> tuple[dict, dict]:
    """The manifest and the tensors of each file of a probe snapshot
    ({file name: {tensor name: tensor}}), sizes and crc32s verified."""
    path = os.path.join(folder, "manifest.json")
    try:
        size = os.stat(path).st_size
    except OSError as error:
        raise SnapshotError(f"{path}: {error.strerror}") from None
    if size > MANIFEST_LIMIT:
        raise SnapshotError(f"{path}: {size} bytes (the limit is {MANIFEST_LIMIT})")
    try:
        with open(path, "rb") as handle:
            manifest = json.loads(handle.read(MANIFEST_LIMIT + 1).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SnapshotError(f"{path}: not JSON ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise SnapshotError(f"{path}: not a {FORMAT} manifest of version {VERSION}")
    records = manifest.get("files")
    if not isinstance(records, dict) or "model.safetensors" not in records:
        raise SnapshotError(f"{path}: files must list model.safetensors")
    files = {}
    for file, record in records.items():
        if not isinstance(file, str) or "/" in file or file.startswith(".") or not file.endswith(".safetensors"):
            raise SnapshotError(f"{path}: {str(file)[:80]!r} is not a file of the snapshot")
        if (not isinstance(record, dict) or not isinstance(record.get("bytes"), int)
                or not isinstance(record.get("crc32"), int)):
            raise SnapshotError(f"{path}: {file} needs integer bytes and crc32")
        location = os.path.join(folder, file)
        try:
            actual = os.stat(location).st_size
            if actual != record["bytes"]:
                raise SnapshotError(f"{location}: {actual} bytes, the manifest says {record['bytes']}")
            with open(location, "rb") as handle:
                data = handle.read(actual + 1)
        except OSError as error:
            raise SnapshotError(f"{location}: {error.strerror}") from None
        if len(data) != actual or (zlib.crc32(data) & 0xFFFFFFFF) != record["crc32"]:
            raise SnapshotError(f"{location}: crc32 differs from the manifest's (damaged or changed)")
        files[file] = parse_safetensors(data, location)
    return manifest, files
