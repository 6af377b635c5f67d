"""Export a Keras model to float32 and full-integer int8 `.tflite`, and describe the files.

Shared by the detector and OCR trainers. TensorFlow is imported inside the functions so that
importing this module stays cheap.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

RepresentativeData = Callable[[], Iterable[list[np.ndarray]]] | Iterable[np.ndarray]


def _representative(data: RepresentativeData) -> Callable[[], Iterable[list[np.ndarray]]]:
    """Accept a generator function (TF's own convention) or a plain iterable of input arrays."""
    if callable(data):
        return data
    samples = [np.asarray(x, dtype=np.float32) for x in data]

    def gen():
        for x in samples:
            yield [x if x.ndim == 4 else x[None]]

    return gen


def export_tflite(keras_model, representative_dataset: RepresentativeData, out_dir: str | Path,
                  name: str) -> dict[str, Path]:
    """Write `<name>_float.tflite` and `<name>_int8.tflite` (int8 input and outputs) to out_dir.

    `representative_dataset` calibrates the int8 ranges: a few hundred real inputs, shaped like
    the model input (batch dimension optional). Returns {"float": path, "int8": path}.
    """
    import tensorflow as tf

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"float": out / f"{name}_float.tflite", "int8": out / f"{name}_int8.tflite"}

    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    paths["float"].write_bytes(converter.convert())

    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = _representative(representative_dataset)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    paths["int8"].write_bytes(converter.convert())
    for kind, path in paths.items():
        logger.info("exported %s model %s (%d bytes)", kind, path, path.stat().st_size)
    return paths


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def describe_tflite(path: str | Path) -> dict:
    """Manifest entry of one model file: sha256, size, input and output specs."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))

    def spec(d: dict) -> dict:
        scale, zero = d["quantization"]
        return {"name": d["name"], "shape": [int(v) for v in d["shape"]],
                "dtype": np.dtype(d["dtype"]).name,
                "quantization": {"scale": float(scale), "zero_point": int(zero)}}

    return {"sha256": sha256_file(path), "bytes": Path(path).stat().st_size,
            "input": spec(interp.get_input_details()[0]),
            "outputs": [spec(d) for d in sorted(interp.get_output_details(),
                                                 key=lambda d: d["name"])]}


def write_manifest(path: str | Path, family: str, version: str, files: dict[str, Path],
                   **extra) -> dict:
    """Write `<family>.manifest.json`: one entry per model file plus free-form extra keys
    (data used, metrics, training settings). Returns the manifest."""
    manifest = {"family": family, "version": version,
                "files": {p.name: {"variant": kind, **describe_tflite(p)}
                          for kind, p in files.items()},
                **extra}
    return save_manifest(path, manifest)


def save_manifest(path: str | Path, manifest: dict) -> dict:
    """Write a manifest dict as every manifest is written (sorted keys, 2-space indent)."""
    Path(path).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest
