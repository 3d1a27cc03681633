"""Teachers of flow runs and sweeps: the unit-orthonormal default (``v_j = e_j``, ``b_j = 1``) or a
teacher read from a file.

File formats (the extension decides):

* ``.npz``: arrays ``b`` (shape ``(k,)``) and ``V`` (shape ``(k, d)``);
* ``.json``: an object ``{"b": [...], "V": [[...], ...]}``.

Keys other than ``b`` and ``V`` are refused with a message; ``c`` (teacher biases) is recognised
and refused as not supported yet (``TEACHER_KEYS`` and ``_BIAS_KEYS`` are the only places to change
when biases arrive). Entries must be real and finite and within the accepted range of the activation
(``copyavg.numeric.Problem``); every failure is a ``ValueError`` with one line naming the file and
the cause, raised before any work starts.

A teacher is identified in sweep stores by ``Teacher.digest``, the SHA-256 of its arrays (shape,
then the float64 bytes, little-endian): runs with different teachers never mix.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass

import numpy as np

TEACHER_KEYS = ("b", "V")   # required keys of a teacher file
_BIAS_KEYS = ("c",)         # recognised, not supported yet
MAX_TEACHER_BYTES = 1 << 30  # a teacher file larger than 1 GiB is refused before it is read


@dataclass(frozen=True)
class Teacher:
    """A teacher ``f*(x) = sum_j b_j sigma(v_j.x)``: ``b`` (k,), ``V`` (k, d) and where it came from
    (``"orthonormal"`` or the file path)."""

    b: np.ndarray
    V: np.ndarray
    source: str = "orthonormal"

    @property
    def k(self) -> int:
        return int(self.V.shape[0])

    @property
    def d(self) -> int:
        return int(self.V.shape[1])

    @property
    def digest(self) -> str:
        """SHA-256 (hex) of the shapes and the float64 little-endian bytes of ``b`` and ``V``."""
        h = hashlib.sha256(f"teacher:{self.k}x{self.d}:".encode())
        for arr in (self.b, self.V):
            h.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
        return h.hexdigest()

    @property
    def unit_orthonormal(self) -> bool:
        """True for the default teacher ``V = eye(k, d)``, ``b = 1``."""
        return bool(np.array_equal(self.b, np.ones(self.k)) and np.array_equal(self.V, np.eye(self.k, self.d)))

    def store_options(self) -> dict:
        """What identifies the teacher in a sweep store's flow options: nothing for the default
        teacher (so existing stores resume), else ``{"teacher_sha256": digest}``."""
        return {} if self.unit_orthonormal else {"teacher_sha256": self.digest}


def orthonormal_teacher(k: int, d: int) -> Teacher:
    """The default teacher ``v_j = e_j`` in ``R^d``, ``b_j = 1``."""
    return Teacher(np.ones(k), np.eye(k, d))


def _read(path: str) -> dict:
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".npz", ".json"):
        raise ValueError(f"teacher file {path}: the extension must be .npz or .json, got {ext or 'none'!r}")
    if not os.path.exists(path):
        raise ValueError(f"teacher file {path}: no such file")
    if os.path.isdir(path):
        raise ValueError(f"teacher file {path}: is a directory")
    try:
        if os.path.getsize(path) > MAX_TEACHER_BYTES:
            raise ValueError(f"teacher file {path}: larger than {MAX_TEACHER_BYTES >> 30} GiB")
        if ext == ".json":
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
            if not isinstance(data, dict):
                raise ValueError(f"teacher file {path}: must hold a JSON object {{\"b\": [...], \"V\": [[...]]}}, "
                                 f"got {type(data).__name__}")
            return data
        with np.load(path, allow_pickle=False) as z:
            return {name: z[name] for name in z.files}
    except OSError as exc:
        raise ValueError(f"teacher file {path}: cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"teacher file {path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"teacher file {path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except (zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise ValueError(f"teacher file {path}: not a readable .npz archive ({exc})") from None
    except ValueError as exc:  # np.load refusing pickled object arrays, or ours above
        if str(exc).startswith("teacher file"):
            raise
        raise ValueError(f"teacher file {path}: cannot read it: {' '.join(str(exc).split())}") from None


def _array(value, name: str, ndim: int, path: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
        if arr.dtype.kind not in "iuf":
            raise TypeError
        arr = arr.astype(float)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"teacher file {path}: {name} must be a real numeric array (numbers only, "
                         f"rows of equal length)") from None
    if arr.ndim != ndim:
        shape = "(k,)" if ndim == 1 else "(k, d)"
        raise ValueError(f"teacher file {path}: {name} must have shape {shape}, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"teacher file {path}: {name} must be finite (no NaN or inf)")
    return arr


def load_teacher(path, *, d: int | None = None, activation: str = "erf2", k_max: int = 10**6) -> Teacher:
    """Read and check a teacher file (see the module docstring).

    Parameters
    ----------
    path : str or os.PathLike
        A ``.npz`` or ``.json`` file.
    d : int, optional
        The input dimension the teacher must have (``--d``); not checked when None.
    activation : str, default "erf2"
        The entries must lie in this activation's accepted range (``copyavg.numeric.Problem``).
    k_max : int, default 10**6
        Largest number of teacher neurons accepted.

    Returns
    -------
    Teacher

    Raises
    ------
    ValueError
        One line naming the file and the cause: missing, unreadable, wrong format, unknown or
        missing keys, teacher biases ``c`` (not supported yet), wrong shapes, non-finite entries,
        values outside the activation's range, ``d`` different from ``V.shape[1]``, ``k`` out of
        ``1..k_max``.
    """
    from copyavg.numeric import Problem

    path = os.fspath(path)
    data = _read(path)
    bias = [key for key in _BIAS_KEYS if key in data]
    if bias:
        raise ValueError(f"teacher file {path}: teacher biases (key {bias[0]!r}) are not supported yet; "
                         "give only b and V")
    unknown = sorted(set(data) - set(TEACHER_KEYS))
    if unknown:
        raise ValueError(f"teacher file {path}: unknown key(s) {', '.join(map(repr, unknown))}; "
                         f"expected {' and '.join(TEACHER_KEYS)}")
    missing = [key for key in TEACHER_KEYS if key not in data]
    if missing:
        raise ValueError(f"teacher file {path}: missing key(s) {', '.join(map(repr, missing))}")
    b = _array(data["b"], "b", 1, path)
    V = _array(data["V"], "V", 2, path)
    if not 1 <= V.shape[0] <= k_max or V.shape[1] < 1:
        raise ValueError(f"teacher file {path}: V must have 1..{k_max} rows and d >= 1 columns, got shape {V.shape}")
    if b.shape[0] != V.shape[0]:
        raise ValueError(f"teacher file {path}: b has {b.shape[0]} entries but V has {V.shape[0]} rows (k must agree)")
    if d is not None and V.shape[1] != d:
        raise ValueError(f"teacher file {path}: V has d = {V.shape[1]} columns but d = {d} was asked for (--d)")
    try:
        Problem(b, V, activation)
    except ValueError as exc:
        raise ValueError(f"teacher file {path}: {' '.join(str(exc).split())}") from None
    return Teacher(b, V, path)
