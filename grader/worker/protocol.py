"""The wire format between the trusted side and the student's worker process.

Only *plain data* crosses: ``None``, ``bool``, ``int``, ``float``, ``str``, lists, dicts
with string keys, and numpy arrays of boolean or numeric dtype. There is no pickle: the
trusted side decodes a payload with ``json`` and ``numpy.frombuffer`` only, so no object the
student made (a lying ``__eq__``, a numpy subclass, a mock) can exist on the trusted side.

Every message, both ways (the setup, each request, each reply), is one **frame**::

    i64 frame id | u64 payload length | payload

The id is the request's (the setup and the worker's confinement report are
:data:`SETUP_ID`, goodbye is :data:`BYE_ID`); a reply carries the id of the request it
answers. The payload is ``b"GRDR" | u32 header length | JSON header | u32 buffer count |
(u64 length | bytes)*``. Arrays in the header are ``{"__nd__": i, "dtype": ..., "shape":
[...]}`` referring to the ``i``-th buffer.

Reading takes nothing on faith: :func:`read_prefix` refuses a frame for another id or one
longer than the reader allows *before* a byte of its payload is read, and :func:`decode`
bounds the header's items and nesting, checks every buffer against its dtype and shape, and
turns any failure (bad JSON, ``RecursionError``, ``MemoryError``, a short buffer...) into
:class:`ProtocolError`.

This module imports only the standard library: the worker reads its setup with it before it
confines itself, when numpy (and its threads) must not be loaded yet. numpy is needed only
once an array is encoded or decoded.
"""

from __future__ import annotations

import json
import math
import os
import struct
import sys
from collections.abc import Callable
from typing import Any

MAGIC = b"GRDR"
PREFIX = struct.Struct("<qQ")  # frame id, payload length
PREFIX_SIZE = PREFIX.size
SETUP_ID = 0  # the setup frame and the worker's first reply (its confinement report)
BYE_ID = -1  # the trusted side's goodbye: the worker exits
ALLOWED_DTYPES = frozenset(
    ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
     "float16", "float32", "float64"]
)
MAX_DEPTH = 64  # lists/dicts/tuples inside one another (encoding refuses deeper values too)
# items of the JSON header: list items and dict entries (arrays travel as buffers, so plain
# data this large is never legitimate); bounds what json.loads may build on the trusted side
MAX_ELEMENTS = 5_000_000
MAX_CONTAINERS = 1_000_000  # lists and dicts of the header (each costs ~60 bytes decoded)

Reader = Callable[[int], "bytes | bytearray"]


class ProtocolError(Exception):
    """A frame that is not well-formed plain data (the worker misbehaved or died)."""


class NotPlainData(TypeError):
    """A value that cannot be sent: the message names its type and where it sits."""


# ---------------------------------------------------------------- encoding (either side)

def encode(value: Any) -> bytes:
    """Encode plain data into one payload; raise :class:`NotPlainData` for anything else."""
    buffers: list[bytes] = []
    header = json.dumps(_to_json(value, buffers, "result", 0, sys.modules.get("numpy")), allow_nan=True).encode()
    parts = [MAGIC, struct.pack("<I", len(header)), header, struct.pack("<I", len(buffers))]
    for buf in buffers:
        parts.append(struct.pack("<Q", len(buf)))
        parts.append(buf)
    return b"".join(parts)


def pack_frame(frame_id: int, value: Any) -> bytes:
    """One whole frame: the prefix (id, payload length), then the encoded ``value``."""
    payload = encode(value)
    return PREFIX.pack(frame_id, len(payload)) + payload


def _to_json(value: Any, buffers: list[bytes], where: str, depth: int, np: Any) -> Any:
    # np: numpy when it is imported (else no value can be a numpy object), None otherwise
    if depth > MAX_DEPTH:
        raise NotPlainData(f"{where} is nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) or (np is not None and isinstance(value, np.integer)):
        return int(value)
    if np is not None and isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, float) or (np is not None and isinstance(value, np.floating)):
        number = float(value)
        if math.isfinite(number):
            return number
        return {"__float__": repr(number)}  # nan, inf, -inf survive the round trip
    if np is not None and isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        name = array.dtype.name
        if name not in ALLOWED_DTYPES:
            raise NotPlainData(f"{where} is an array of dtype {name}; only numbers and booleans can be graded")
        buffers.append(array.tobytes())
        return {"__nd__": len(buffers) - 1, "dtype": name, "shape": list(array.shape)}
    if isinstance(value, (list, tuple)):
        items = [_to_json(v, buffers, f"{where}[{i}]", depth + 1, np) for i, v in enumerate(value)]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotPlainData(f"{where} has a key {key!r} that is not a string")
            if key.startswith("__") and key.endswith("__"):
                raise NotPlainData(f"{where} has a reserved key {key!r}")
            out[key] = _to_json(item, buffers, f"{where}[{key!r}]", depth + 1, np)
        return out
    raise NotPlainData(f"{where} is a {type(value).__module__}.{type(value).__qualname__}")


# ---------------------------------------------------------------- decoding (trusted side)

def decode(payload: bytes | bytearray | memoryview, *, max_elements: int = MAX_ELEMENTS,
           max_containers: int = MAX_CONTAINERS, max_depth: int = MAX_DEPTH) -> Any:
    """Decode one payload into plain data, checking every size, dtype, shape and budget.

    Every failure, whatever raised it, is a :class:`ProtocolError`.
    """
    try:
        return _decode(memoryview(payload), max_elements, max_containers, max_depth)
    except ProtocolError:
        raise
    except RecursionError:
        raise ProtocolError("frame is nested too deeply") from None
    except MemoryError:
        raise ProtocolError("frame is too large to decode") from None
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, UnicodeDecodeError, struct.error) as exc:
        raise ProtocolError(f"frame is malformed ({type(exc).__name__}: {str(exc)[:200]})") from None


def _decode(frame: memoryview, max_elements: int, max_containers: int, max_depth: int) -> Any:
    if bytes(frame[:4]) != MAGIC:
        raise ProtocolError("frame does not start with the protocol's magic bytes")
    offset = 4
    (header_len,) = struct.unpack_from("<I", frame, offset)
    offset += 4
    if offset + header_len > len(frame):
        raise ProtocolError("frame is shorter than its header claims")
    header = bytes(frame[offset : offset + header_len])
    offset += header_len
    (count,) = struct.unpack_from("<I", frame, offset)
    offset += 4
    if count * 8 > len(frame) - offset:
        raise ProtocolError("frame is shorter than its buffer count claims")
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
    # before json.loads builds anything: brackets and commas bound the header's containers
    # and items from above (those inside strings count too, which only errs on the safe side)
    containers = header.count(b"[") + header.count(b"{")
    if containers > max_containers:
        raise ProtocolError(f"frame holds more than {max_containers} lists and dicts")
    if containers + header.count(b",") > max_elements:
        raise ProtocolError(f"frame holds more than {max_elements} items")
    try:
        tree = json.loads(header)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"frame header is not JSON: {str(exc)[:200]}") from None
    budget = _Budget(max_elements, max_depth)
    return _from_json(tree, buffers, 0, budget)


class _Budget:
    """What decoding may still build: items left, and the deepest nesting allowed."""

    __slots__ = ("items", "depth")

    def __init__(self, items: int, depth: int) -> None:
        self.items, self.depth = items, depth

    def spend(self, n: int) -> None:
        self.items -= n
        if self.items < 0:
            raise ProtocolError("frame holds too many items")


def _from_json(node: Any, buffers: list[memoryview], depth: int, budget: _Budget) -> Any:
    if depth > budget.depth:
        raise ProtocolError("frame is nested too deeply")
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        budget.spend(len(node))
        return [_from_json(v, buffers, depth + 1, budget) for v in node]
    if not isinstance(node, dict):
        raise ProtocolError(f"unexpected JSON value {type(node).__name__}")
    budget.spend(len(node))
    if "__nd__" in node:
        return _array(node, buffers)
    if "__float__" in node:
        text = node["__float__"]
        if text not in ("nan", "inf", "-inf"):
            raise ProtocolError("bad special float")
        return float(text)
    if "__tuple__" in node:
        items = node["__tuple__"]
        if not isinstance(items, list):
            raise ProtocolError("a tuple that is not a list of items")
        budget.spend(len(items))
        return tuple(_from_json(v, buffers, depth + 1, budget) for v in items)
    return {str(k): _from_json(v, buffers, depth + 1, budget) for k, v in node.items()}


def _array(node: dict[str, Any], buffers: list[memoryview]) -> Any:
    import numpy as np  # heavy, and only needed once an array arrives

    dtype, shape, index = node.get("dtype"), node.get("shape"), node.get("__nd__")
    if dtype not in ALLOWED_DTYPES:
        raise ProtocolError(f"array dtype {dtype!r} is not allowed")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(buffers):
        raise ProtocolError("array refers to a missing buffer")
    if (not isinstance(shape, list) or len(shape) > MAX_DEPTH
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)):
        raise ProtocolError("array shape is not a list of sizes")
    buf = buffers[index]
    expected = math.prod(shape) * np.dtype(dtype).itemsize
    if len(buf) != expected:
        raise ProtocolError("array buffer size does not match its shape")
    # a writable copy owned by the trusted side
    return np.frombuffer(buf, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape).copy()


# ---------------------------------------------------------------- framing over pipes

def read_prefix(read: Reader, *, expect_id: int | None, max_bytes: int) -> tuple[int, int]:
    """Read a frame's prefix with ``read(n)`` (exactly ``n`` bytes, ``EOFError`` at the end);
    return ``(frame id, payload length)``.

    A frame whose id is not ``expect_id`` (when given) or whose payload is longer than
    ``max_bytes`` is a :class:`ProtocolError`, raised before any of its payload is read.
    """
    frame_id, length = PREFIX.unpack(read(PREFIX_SIZE))
    if expect_id is not None and frame_id != expect_id:
        raise ProtocolError(f"a frame for request {frame_id} came while request {expect_id} was awaited")
    if length > max_bytes:
        raise ProtocolError(f"a frame of {length} bytes, more than the {max_bytes} allowed")
    return frame_id, length


def read_frame(read: Reader, *, expect_id: int | None, max_bytes: int, **budgets: int) -> tuple[int, Any]:
    """One whole frame: ``(frame id, decoded value)``; see :func:`read_prefix` and :func:`decode`."""
    frame_id, length = read_prefix(read, expect_id=expect_id, max_bytes=max_bytes)
    return frame_id, decode(read(length), **budgets)


def fd_reader(fd: int) -> Reader:
    """``read(n)``: exactly ``n`` bytes from the blocking file descriptor ``fd``; ``EOFError``
    when the other end is closed first."""

    def read(n: int) -> bytearray:
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            k = os.readv(fd, [view[got:]])
            if not k:
                raise EOFError("the other end closed its pipe")
            got += k
        return buf

    return read


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to the blocking file descriptor ``fd``."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
