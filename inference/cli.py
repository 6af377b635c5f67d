"""`alpr train detector|ocr` and `alpr eval`.

Each command lives in its own module exposing `add_arguments(parser)` and `run(args)`; those
modules import nothing heavy at module level (TensorFlow only inside run()).
"""

from __future__ import annotations

import argparse
import importlib

_TRAIN = {
    "detector": ("inference.training.detector_cli", "train the plate detector and export .tflite"),
    "ocr": ("inference.training.ocr_cli", "train the plate OCR and export .tflite"),
}


def _add(sub: argparse._SubParsersAction, name: str, module: str, help_text: str) -> None:
    mod = importlib.import_module(module)
    parser = sub.add_parser(name, help=help_text)
    mod.add_arguments(parser)
    parser.set_defaults(func=mod.run)


def register(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train a model (needs the `train` extra)")
    train_sub = train.add_subparsers(dest="model", metavar="MODEL", required=True)
    for name, (module, help_text) in _TRAIN.items():
        _add(train_sub, name, module, help_text)
    _add(sub, "eval", "inference.eval_cli", "evaluate detection and reading on a labelled folder")
