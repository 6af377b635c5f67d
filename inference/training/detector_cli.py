"""`alpr train detector`: train the plate detector, export float + int8 .tflite and the manifest.

Needs the `train` extra (TensorFlow). TensorFlow is imported only inside run().
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from inference.training.detector_train import FINETUNE_STAGES  # numpy only, no TensorFlow

    parser.add_argument("--data", type=Path, default=Path("../shared/data"),
                        help="folder holding scenes/ (labels.jsonl + images/) and crops/")
    parser.add_argument("--out", type=Path, default=Path("inference/models"),
                        help="where detector_{float,int8}.tflite and detector.manifest.json go")
    parser.add_argument("--steps", type=int, default=None, help="training steps")
    parser.add_argument("--batch", type=int, default=None, help="patches per step")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--threshold", type=float, default=None,
                        help="detection score threshold to record in the manifest (default 0.4)")
    parser.add_argument("--smoke", action="store_true",
                        help="a few steps on a few tiny images: checks the pipeline end to end")
    parser.add_argument("--export-only", action="store_true",
                        help="export and validate the last checkpoint in --out (after an "
                             "interrupted run) instead of training")
    parser.add_argument("--resume", type=Path, default=None, metavar="WEIGHTS",
                        help="stage 2: continue from these weights (a detector_train.weights.h5) "
                             "with the fine-tune settings (FINETUNE in detector_train.py)")
    parser.add_argument("--hard-negatives", type=Path, default=None, metavar="MINED_JSON",
                        help="stage 3 (with --resume): regions mined from the training frames "
                             "by inference.training.detector_mining; settings STAGE3")
    parser.add_argument("--stage", type=int, choices=sorted(FINETUNE_STAGES), default=None,
                        help="with --resume and --hard-negatives: the settings STAGE3 (default), "
                             "STAGE4 (adds square / two-line synthetic plates), STAGE5 (with "
                             "--extra-plates: labels completed by eye), STAGE6 (with "
                             "--extra-plates: a larger square / two-line share) or STAGE7 "
                             "(with --extra-plates: stage 5's settings, re-mined) of "
                             "detector_train.py")
    parser.add_argument("--extra-plates", type=Path, default=None, metavar="JSON",
                        help="plates the scene labels leave out (docs/eval/"
                             "scene_extra_plates.json): its training-split plates are positives")
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate")
    parser.add_argument("--time-limit", type=float, default=None, metavar="MINUTES",
                        help="stop training after this many minutes, save and export the "
                             "weights reached (the manifest records the steps done)")
    parser.add_argument("--threads", type=int, default=1,
                        help="TensorFlow threads (default 1: bit-reproducible; 2 on a dedicated "
                             "2-core machine is ~1.6x quicker)")
    parser.add_argument("--recipe", type=Path, default=None, metavar="DIR",
                        help="run the shipped model's whole recipe (five stages with mining, "
                        "thresholds and confirmation) into DIR, resuming what is done; the "
                        "model to ship ends in DIR/s5 (docs/detector.md)")
    parser.add_argument("--hours", type=float, default=2.0,
                        help="with --recipe: scale the stages' steps to fit this budget on a "
                        "2-core machine (default 2; 0 = the shipped run's step counts)")
    parser.add_argument("--no-render", action="store_true",
                        help="do not use the synthetic plate renderer even when it is available")


def _renderer(enabled: bool, p_two_line: float = 0.0):
    """Synthetic plates from inference.training.render, if that module exists."""
    if not enabled:
        return None
    try:
        from inference.training.detector_render import plate_source
    except ImportError:
        logger.info("synthetic plate renderer not available; training on real data only")
        return None
    return plate_source(p_two_line=p_two_line)


def _stage_settings(args: argparse.Namespace) -> dict | None:
    """The fine-tune settings --resume/--hard-negatives/--stage ask for (None: stage 1)."""
    from inference.training.detector_train import EXTRA_PLATE_STAGES, FINETUNE, FINETUNE_STAGES

    resume, mined = getattr(args, "resume", None), getattr(args, "hard_negatives", None)
    stage, extra = getattr(args, "stage", None), getattr(args, "extra_plates", None)
    if stage is not None and mined is None:
        raise SystemExit("alpr train detector: --stage needs --resume and --hard-negatives")
    if (stage in EXTRA_PLATE_STAGES) != (extra is not None):
        stages = ", ".join(map(str, sorted(EXTRA_PLATE_STAGES)))
        raise SystemExit(f"alpr train detector: --stage {stages} and --extra-plates go together")
    if extra is not None and not extra.exists():
        raise SystemExit(f"alpr train detector: --extra-plates {extra} not found")
    if args.export_only:
        return None
    if mined is not None:
        if resume is None:
            raise SystemExit("alpr train detector: --hard-negatives is a fine-tune stage; "
                             "give the weights to start from with --resume")
        if not mined.exists():
            raise SystemExit(f"alpr train detector: --hard-negatives {mined} not found")
    if resume is None:
        return None
    if not resume.exists():
        raise SystemExit(f"alpr train detector: --resume {resume} not found")
    if mined is None:
        return {**FINETUNE, "resume": resume}
    settings = FINETUNE_STAGES[stage or 3]
    return {**settings, "resume": resume, "hard_negatives": mined, "extra_plates": extra}


def run(args: argparse.Namespace) -> int:
    from inference.training.detector_train import TrainConfig, train

    logging.getLogger("inference").setLevel(logging.INFO)  # progress even without -v
    if getattr(args, "recipe", None) is not None:
        from inference.training.detector_recipe import run_recipe

        final = run_recipe(args.recipe, args.data, args.threads, args.hours, args.smoke,
                           args.seed)
        print(f"recipe done: the model to ship is in {final}")
        return 0
    if not (args.data / "scenes" / "labels.jsonl").exists():
        raise SystemExit(f"alpr train detector: {args.data}/scenes/labels.jsonl not found "
                         "(use --data DIR)")
    cfg = TrainConfig(data=args.data, out=args.out, seed=args.seed,
                      **(_stage_settings(args) or {}))
    if args.smoke:
        cfg.steps, cfg.batch, cfg.patch = 3, 2, 64
        cfg.input_w, cfg.input_h = 128, 64
        cfg.scene_limit = cfg.crop_limit = 6
        cfg.calib_images, cfg.val_limit, cfg.log_every, cfg.checkpoint_every = 2, 3, 1, 0
        cfg.width_mult = 0.5
    threads = getattr(args, "threads", 1)
    if threads < 1:
        raise SystemExit("alpr train detector: --threads must be at least 1")
    cfg.threads = threads
    if args.steps is not None:
        cfg.steps = args.steps
    if args.threshold is not None:
        cfg.threshold = args.threshold
    if args.batch is not None:
        cfg.batch = args.batch
    if getattr(args, "lr", None) is not None:
        cfg.lr = args.lr
    limit = getattr(args, "time_limit", None)
    if limit is not None:
        if limit <= 0:
            raise SystemExit("alpr train detector: --time-limit must be positive (minutes)")
        cfg.time_limit_s = 60 * limit
    renderer = None if args.export_only else _renderer(not args.no_render and not args.smoke,
                                                       cfg.p_two_line)
    manifest = train(cfg, renderer, export_only=args.export_only)
    for kind, m in manifest["validation"].items():
        print(f"{kind}: recall {m['recall']} fp/image {m['fp_per_image']} "
              f"ms median {m['ms_median']}")
    return 0
