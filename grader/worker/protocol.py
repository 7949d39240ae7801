"""The wire format between the trusted side and the student's worker process.

Only *plain data* crosses: ``None``, ``bool``, ``int``, ``float``, ``str``, lists, dicts
with string keys, and numpy arrays of boolean or numeric dtype. There is no pickle: the
trusted side decodes a frame with ``json`` and ``numpy.frombuffer`` only, so no object the
student made (a lying ``__eq__``, a numpy subclass, a mock) can exist on the trusted side.

A frame is ``b"GRDR" | u32 header length | JSON header | u32 buffer count |
(u64 length | bytes)*``. Arrays in the header are ``{"__nd__": i, "dtype": ..., "shape":
[...]}`` referring to the ``i``-th buffer. Everything is bounded: a frame larger than
``max_bytes`` is refused before it is read.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any, BinaryIO

import numpy as np

MAGIC = b"GRDR"
ALLOWED_DTYPES = frozenset(
    ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
     "float16", "float32", "float64"]
)
MAX_DEPTH = 64


class ProtocolError(Exception):
    """A frame that is not well-formed plain data (the worker misbehaved or died)."""


class NotPlainData(TypeError):
    """A value that cannot be sent: the message names its type and where it sits."""


# ---------------------------------------------------------------- encoding (either side)

def encode(value: Any) -> bytes:
    """Encode plain data into one frame; raise :class:`NotPlainData` for anything else."""
    buffers: list[bytes] = []
    header = json.dumps(_to_json(value, buffers, "result", 0), allow_nan=True).encode()
    parts = [MAGIC, struct.pack("<I", len(header)), header, struct.pack("<I", len(buffers))]
    for buf in buffers:
        parts.append(struct.pack("<Q", len(buf)))
        parts.append(buf)
    return b"".join(parts)


def _to_json(value: Any, buffers: list[bytes], where: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise NotPlainData(f"{where} is nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isfinite(number):
            return number
        return {"__float__": repr(number)}  # nan, inf, -inf survive the round trip
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        name = array.dtype.name
        if name not in ALLOWED_DTYPES:
            raise NotPlainData(f"{where} is an array of dtype {name}; only numbers and booleans can be graded")
        buffers.append(array.tobytes())
        return {"__nd__": len(buffers) - 1, "dtype": name, "shape": list(array.shape)}
    if isinstance(value, (list, tuple)):
        items = [_to_json(v, buffers, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotPlainData(f"{where} has a key {key!r} that is not a string")
            if key.startswith("__") and key.endswith("__"):
                raise NotPlainData(f"{where} has a reserved key {key!r}")
            out[key] = _to_json(item, buffers, f"{where}[{key!r}]", depth + 1)
        return out
    raise NotPlainData(f"{where} is a {type(value).__module__}.{type(value).__qualname__}")


# ---------------------------------------------------------------- decoding (trusted side)

def decode(frame: bytes) -> Any:
    """Decode one frame into plain data, checking every size, dtype and shape."""
    if frame[:4] != MAGIC:
        raise ProtocolError("frame does not start with the protocol's magic bytes")
    offset = 4
    (header_len,) = struct.unpack_from("<I", frame, offset)
    offset += 4
    header = frame[offset : offset + header_len]
    offset += header_len
    (count,) = struct.unpack_from("<I", frame, offset)
    offset += 4
    buffers = []
    for _ in range(count):
        (length,) = struct.unpack_from("<Q", frame, offset)
        offset += 8
        if offset + length > len(frame):
            raise ProtocolError("frame is shorter than its buffers claim")
        buffers.append(frame[offset : offset + length])
        offset += length
    if offset != len(frame):
        raise ProtocolError("frame has trailing bytes")
    try:
        tree = json.loads(header)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"frame header is not JSON: {exc}") from None
    return _from_json(tree, buffers, 0)


def _from_json(node: Any, buffers: list[bytes], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ProtocolError("frame is nested too deeply")
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_from_json(v, buffers, depth + 1) for v in node]
    if not isinstance(node, dict):
        raise ProtocolError(f"unexpected JSON value {type(node).__name__}")
    if "__nd__" in node:
        return _array(node, buffers)
    if "__float__" in node:
        text = node["__float__"]
        if text not in ("nan", "inf", "-inf"):
            raise ProtocolError("bad special float")
        return float(text)
    if "__tuple__" in node:
        return tuple(_from_json(v, buffers, depth + 1) for v in node["__tuple__"])
    return {str(k): _from_json(v, buffers, depth + 1) for k, v in node.items()}


def _array(node: dict[str, Any], buffers: list[bytes]) -> np.ndarray:
    dtype, shape, index = node.get("dtype"), node.get("shape"), node.get("__nd__")
    if dtype not in ALLOWED_DTYPES:
        raise ProtocolError(f"array dtype {dtype!r} is not allowed")
    if not isinstance(index, int) or not 0 <= index < len(buffers):
        raise ProtocolError("array refers to a missing buffer")
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ProtocolError("array shape is not a list of sizes")
    buf = buffers[index]
    expected = math.prod(shape) * np.dtype(dtype).itemsize
    if len(buf) != expected:
        raise ProtocolError("array buffer size does not match its shape")
    # a writable copy owned by the trusted side
    return np.frombuffer(buf, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape).copy()


# ---------------------------------------------------------------- framing over pipes

def write_frame(stream: BinaryIO, value: Any) -> None:
    data = encode(value)
    stream.write(struct.pack("<Q", len(data)))
    stream.write(data)
    stream.flush()


def read_frame(stream: BinaryIO, max_bytes: int) -> Any:
    """Read one length-prefixed frame; ``EOFError`` when the peer is gone."""
    prefix = _read_exact(stream, 8)
    (length,) = struct.unpack("<Q", prefix)
    if length > max_bytes:
        raise ProtocolError(f"the worker sent {length} bytes, more than the {max_bytes} allowed")
    return decode(_read_exact(stream, length))


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            raise EOFError("the worker closed its end")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)
