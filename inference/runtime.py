"""One wrapper for every `.tflite` model the unit runs.

It prefers `ai_edge_litert` and falls back to `tflite_runtime` (with a warning) when the preferred
runtime cannot build an Interpreter; an explicitly named runtime fails loudly instead. Before
anything is loaded the file's sha256 is checked against its manifest entry, so a truncated,
corrupted or swapped file is refused with a clear error and the caller keeps its previous model.
Inputs and outputs are (de)quantised here so callers always speak float32.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

RUNTIMES = ("ai_edge_litert", "tflite_runtime")
_MODULES = {"ai_edge_litert": "ai_edge_litert.interpreter",
            "tflite_runtime": "tflite_runtime.interpreter"}
MODELS_DIR = Path(__file__).resolve().parent / "models"


class ModelError(Exception):
    """A model could not be used."""


class ModelIntegrityError(ModelError, ValueError):
    """The model file does not match its manifest (missing entry, wrong sha256, unreadable)."""


class ModelLoadError(ModelError, RuntimeError):
    """No runtime could build an interpreter for the (hash-verified) model file."""


class RuntimeUnavailable(ModelError, ImportError):
    """The requested interpreter runtime is not installed or cannot run here."""


@dataclass(frozen=True)
class TensorSpec:
    """Shape, dtype and affine quantisation of one model tensor (scale 0 = not quantised)."""

    name: str
    index: int
    shape: tuple[int, ...]
    dtype: np.dtype
    scale: float
    zero_point: int

    @property
    def quantized(self) -> bool:
        return self.scale != 0.0 and np.issubdtype(self.dtype, np.integer)

    @classmethod
    def from_details(cls, d: dict) -> TensorSpec:
        scale, zero = d["quantization"]
        return cls(d["name"], int(d["index"]), tuple(int(v) for v in d["shape"]),
                   np.dtype(d["dtype"]), float(scale), int(zero))

    def quantize(self, x: np.ndarray) -> np.ndarray:
        if not self.quantized:
            return np.asarray(x, dtype=self.dtype)
        info = np.iinfo(self.dtype)
        q = np.rint(np.asarray(x, dtype=np.float32) / self.scale) + self.zero_point
        return np.clip(q, info.min, info.max).astype(self.dtype)

    def from_u8(self, image: np.ndarray) -> np.ndarray:
        """The model input for an 8-bit image the model reads as u8 / 255. An int8 input
        calibrated on that range (scale 1/255, zero point -128) is exactly u8 - 128, without
        going through floats; any other input is u8 / 255, quantised when the model asks."""
        if self.quantized and self.dtype == np.int8 and abs(self.scale * 255 - 1) < 1e-3 \
                and self.zero_point == -128:
            return (image.astype(np.int16) - 128).astype(np.int8)
        return image.astype(np.float32) * np.float32(1 / 255)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        if not self.quantized:
            return q.astype(np.float32, copy=False)
        return (q.astype(np.float32) - self.zero_point) * np.float32(self.scale)


def load_manifest(manifest: Mapping | str | Path) -> dict:
    if isinstance(manifest, Mapping):
        return dict(manifest)
    try:
        doc = json.loads(Path(manifest).read_text())
    except (OSError, ValueError) as exc:
        raise ModelIntegrityError(f"cannot read model manifest {manifest}: {exc}") from exc
    if not isinstance(doc, dict):
        raise ModelIntegrityError(f"model manifest {manifest} is not a JSON object")
    return doc


def verify_file(path: Path, manifest: Mapping) -> bytes:
    """Return the file's bytes if its sha256 matches the manifest entry for its name."""
    files = manifest.get("files") or {}
    entry = files.get(path.name) if isinstance(files, Mapping) else None
    if not isinstance(entry, Mapping) or "sha256" not in entry:
        raise ModelIntegrityError(f"model {path.name} is not listed in the manifest "
                                  f"(family {manifest.get('family')!r}); refusing to load it")
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ModelIntegrityError(f"cannot read model file {path}: {exc}") from exc
    digest = hashlib.sha256(content).hexdigest()
    if digest != str(entry["sha256"]).lower():
        raise ModelIntegrityError(
            f"model {path} sha256 {digest[:16]}... does not match the manifest "
            f"({str(entry['sha256'])[:16]}...): file corrupt or replaced; refusing to load it")
    return content


def _build(runtime: str, content: bytes, num_threads: int):
    try:
        module = importlib.import_module(_MODULES[runtime])
    except ImportError as exc:
        raise RuntimeUnavailable(f"runtime {runtime} is not installed: {exc}") from exc
    interp = module.Interpreter(model_content=content, num_threads=num_threads)
    interp.allocate_tensors()
    return interp


class Model:
    """A hash-verified `.tflite` model ready to run.

    `runtime` is "auto" (ai_edge_litert, else tflite_runtime) or one name from RUNTIMES.
    """

    def __init__(self, path: str | Path, manifest: Mapping | str | Path, num_threads: int = 1,
                 runtime: str = "auto") -> None:
        if num_threads < 1:
            raise ValueError("num_threads must be >= 1")
        self.path = Path(path)
        self.manifest = load_manifest(manifest)
        self._content = verify_file(self.path, self.manifest)
        self.entry = dict(self.manifest["files"][self.path.name])
        self.num_threads = num_threads
        self.runtime, self._interp = self._open(runtime)
        self.input_spec = TensorSpec.from_details(self._interp.get_input_details()[0])
        self.output_specs = [TensorSpec.from_details(d) for d in
                             sorted(self._interp.get_output_details(), key=lambda d: d["name"])]
        logger.info("loaded %s with %s (%d threads), input %s %s", self.path.name, self.runtime,
                    num_threads, self.input_spec.shape, self.input_spec.dtype.name)

    def _open(self, runtime: str):
        if runtime != "auto":
            if runtime not in RUNTIMES:
                raise ValueError(f"unknown runtime {runtime!r}; choose from {RUNTIMES}")
            try:
                return runtime, _build(runtime, self._content, self.num_threads)
            except RuntimeUnavailable:
                raise
            except Exception as exc:
                raise ModelLoadError(f"{runtime} cannot load {self.path}: {exc}") from exc
        errors = []
        for name in RUNTIMES:
            try:
                interp = _build(name, self._content, self.num_threads)
            except Exception as exc:  # a broken runtime or a bad model: try the next one
                errors.append(f"{name}: {exc}")
                continue
            if errors:
                logger.warning("fell back to %s for %s (%s)", name, self.path.name, errors)
            return name, interp
        raise ModelLoadError(f"no runtime could load {self.path}: " + "; ".join(errors))

    @property
    def version(self) -> str | None:
        return self.manifest.get("version")

    def close(self) -> None:
        """Release the interpreter; closing twice is fine, running after close raises."""
        self._interp = None
        self._content = b""

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        """Run one input; float input is quantised for int8 models, outputs come back float32
        in the order of their tensor names (which is the Keras output order)."""
        if self._interp is None:
            raise ModelError(f"model {self.path.name} is closed")
        spec = self.input_spec
        x = np.asarray(x)
        if x.dtype != spec.dtype:
            x = spec.quantize(x)
        if tuple(x.shape) != spec.shape:
            x = x.reshape(spec.shape)
        self._interp.set_tensor(spec.index, x)
        self._interp.invoke()
        return [s.dequantize(self._interp.get_tensor(s.index)) for s in self.output_specs]

    def describe(self) -> dict:
        s = self.input_spec
        return {"file": self.path.name, "runtime": self.runtime, "threads": self.num_threads,
                "version": self.version, "input": {"shape": list(s.shape), "dtype": s.dtype.name,
                                                   "scale": s.scale, "zero_point": s.zero_point}}


def available_runtimes() -> dict[str, str | None]:
    """Which runtimes can build an Interpreter here: name -> None if usable, else the reason.

    Uses the smallest shipped model so that the check exercises a real Interpreter.
    """
    candidates = sorted(MODELS_DIR.glob("*.tflite"), key=lambda p: p.stat().st_size)
    result: dict[str, str | None] = {}
    for name in RUNTIMES:
        try:
            if not candidates:
                importlib.import_module(_MODULES[name])
                result[name] = None
                continue
            _build(name, candidates[0].read_bytes(), 1)
            result[name] = None
        except Exception as exc:
            result[name] = f"{type(exc).__name__}: {exc}"
    return result
