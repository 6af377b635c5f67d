"""Plate OCR: runs the CTC TFLite model on a rectified crop and decodes its columns.

The model gives one probability distribution (alphabet + blank) per 4-pixel column of the crop.
The read is the greedy CTC path (argmax per column, repeats collapsed, blanks dropped); a
character's confidence is its best column's probability; alternatives come from a CTC prefix
beam search (pruned to the likely classes of each column), with string probabilities.

Several models may read the same crop (an ensemble, `PlateReader(["a.tflite", "b.tflite"])`):
their CTC columns need not align (each model learns its own timing), so they are combined at the
string level: every candidate string scores the geometric mean of its probability under each
model (a string a model did not propose counts as `ENSEMBLE_FLOOR`), and the winner's
per-character distributions are the mean of each model's column for that character, found by
forced alignment (`align`).

An ensemble may be read as a cascade (`Cascade`, the manifest's `ensemble.min_members` /
`sure_above` / `agree`): members run in their order and the reader stops adding them once the
combined reading is sure; without those settings every member reads every crop. The manifest
may name a reader per region (`ensemble.regions`, `shipped_models`): the unit reads with its
region's.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from inference.formats import ALPHABET, REGION_FAMILIES
from inference.rectify import OCR_SIZE

logger = logging.getLogger(__name__)

BLANK_CHAR = "_"
SYMBOLS = ALPHABET + BLANK_CHAR
MODELS_DIR = Path(__file__).with_name("models")
MANIFEST = MODELS_DIR / "ocr.manifest.json"
# the shipped int8 cascade (ocr.manifest.json "ensemble", docs/ocr.md): runs 3 and 4 (loose
# crops, stacked letters, Mercosur) read every plate; run 2 (best on real US crops) and run 6
# (Romanian plates) are asked only when those two disagree or are unsure
DEFAULT_MODELS = ("ocr3_int8.tflite", "ocr4_int8.tflite", "ocr_int8.tflite", "ocr6_int8.tflite")


@dataclass(frozen=True)
class OcrResult:
    text: str  # best reading, A-Z0-9 (may be empty when the model sees only pads)
    char_conf: tuple[float, ...]  # one per character of `text`
    confidence: float  # probability of `text` under the model (sum over its CTC paths)
    alternatives: tuple[tuple[str, float], ...]  # best first, alternatives[0][0] == text
    probs: np.ndarray  # (len(text), len(SYMBOLS)): each character's column distribution
    # (first, last, columns): the first and last column the greedy path reads a character in,
    # and the number of columns; a character at the crop's very edge may be cut or not one at all
    span: tuple[int, int, int] = (0, 0, 0)

    def touches_edge(self, columns: int = 1) -> bool:
        """True when a character is read within `columns` of either end of the crop."""
        first, last, n = self.span
        return bool(self.text) and (first < columns or last >= n - columns)


def normalise_contrast(gray: np.ndarray) -> np.ndarray:
    """Stretch the 2nd..98th percentile to 0..255 (dark IR frames and washed-out days alike)."""
    lo, hi = np.percentile(gray, (2, 98))
    if hi - lo < 8:
        return gray
    f = (gray.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return np.clip(f, 0, 255).astype(np.uint8)


BLANK = len(SYMBOLS) - 1


def beam_search(probs: np.ndarray, top_n: int = 5, width: int = 8,
                prune: float = 1e-3) -> list[tuple[str, float]]:
    """The `top_n` likeliest strings under CTC (prefix beam search), best first."""
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (1.0, 0.0)}  # (p_blank, p_char)
    probs = np.asarray(probs, np.float64)
    # each column's surviving classes as plain Python (class, p) pairs: numpy scalars in the
    # inner loop would cost more than the search itself
    cols: list[list[tuple[int, float]]] = [[] for _ in range(len(probs))]
    ts, cs = np.nonzero(probs > prune)
    for t, c, p in zip(ts.tolist(), cs.tolist(), probs[ts, cs].tolist(), strict=True):
        cols[t].append((c, p))
    for cands in cols:
        nxt: dict[tuple[int, ...], list[float]] = {}
        for prefix, (pb, pc) in beams.items():
            for c, p in cands:
                if c == BLANK:
                    nxt.setdefault(prefix, [0.0, 0.0])[0] += (pb + pc) * p
                    continue
                new = prefix + (int(c),)
                if prefix and prefix[-1] == c:  # a repeat needs a blank between the two
                    nxt.setdefault(new, [0.0, 0.0])[1] += pb * p
                    nxt.setdefault(prefix, [0.0, 0.0])[1] += pc * p
                else:
                    nxt.setdefault(new, [0.0, 0.0])[1] += (pb + pc) * p
        top = heapq.nlargest(width, nxt.items(), key=lambda kv: kv[1][0] + kv[1][1])
        beams = {k: (v[0], v[1]) for k, v in top}
    ranked = sorted(((sum(v), k) for k, v in beams.items() if k and sum(v) > 0), reverse=True)
    return [("".join(SYMBOLS[c] for c in k), float(p)) for p, k in ranked[:top_n]]


def greedy(probs: np.ndarray) -> tuple[str, tuple[float, ...], np.ndarray]:
    """Best path: (text, per-character confidence, per-character distributions (n, classes))."""
    idx = probs.argmax(axis=1)
    chars: list[int] = []
    confs: list[float] = []
    rows: list[np.ndarray] = []
    prev = BLANK
    for t, c in enumerate(idx):
        if c != BLANK and c != prev:
            chars.append(int(c))
            confs.append(float(probs[t, c]))
            rows.append(probs[t])
        elif c != BLANK and probs[t, c] > confs[-1]:  # same character, a surer column
            confs[-1] = float(probs[t, c])
            rows[-1] = probs[t]
        prev = c
    text = "".join(SYMBOLS[c] for c in chars)
    char_probs = np.stack(rows) if rows else np.zeros((0, probs.shape[1]), np.float32)
    return text, tuple(confs), char_probs


def decode(probs: np.ndarray, top_n: int = 5) -> OcrResult:
    probs = np.asarray(probs, np.float32)
    text, conf, char_probs = greedy(probs)
    read = np.nonzero(probs.argmax(axis=1) != BLANK)[0]
    span = (int(read[0]), int(read[-1]), len(probs)) if len(read) else (0, 0, len(probs))
    alts = beam_search(probs, top_n) if text else []
    p_text = next((p for t, p in alts if t == text), float(np.prod(conf)) if conf else 0.0)
    if text and (not alts or alts[0][0] != text):
        alts = [(text, p_text)] + [a for a in alts if a[0] != text][: top_n - 1]
    return OcrResult(text, conf, min(1.0, p_text), tuple(alts), char_probs, span)


ENSEMBLE_FLOOR = 1e-4  # probability given to a string a member model did not propose
ENSEMBLE_BEAM = 8  # candidates each member proposes
ENSEMBLE_VARIANTS = ("int8", "float")  # the manifest's `ensemble` member lists
CASCADE_KEYS = ("min_members", "sure_above", "agree")  # its optional cascade settings


def align(probs: np.ndarray, text: str) -> list[int]:
    """CTC forced alignment (Viterbi): for each column, the index in `text` of the character it
    is aligned to, or -1 for a blank. `text` must be non-empty and fit the columns.
    (Plain Python: ~36 x 21 cells, ten times quicker than per-column numpy calls.)"""
    labels = [SYMBOLS.index(c) for c in text]
    ext = [BLANK]  # blank, c1, blank, c2, ..., blank
    for c in labels:
        ext += [c, BLANK]
    n_s = len(ext)
    if not labels or len(labels) > len(probs):
        raise ValueError(f"{text!r} does not fit {len(probs)} columns")
    logp = np.log(np.maximum(np.asarray(probs, np.float64)[:, ext], 1e-12)).tolist()
    # a character may follow the one two states back (skipping the blank) unless it repeats it
    skip = [s >= 2 and ext[s] != BLANK and ext[s] != ext[s - 2] for s in range(n_s)]
    score = [logp[0][0], logp[0][1]] + [-math.inf] * (n_s - 2)
    back = []
    for row in logp[1:]:
        new, ptr = [], []
        for s in range(n_s):
            best, arg = score[s], s
            if s and score[s - 1] > best:
                best, arg = score[s - 1], s - 1
            if skip[s] and score[s - 2] > best:
                best, arg = score[s - 2], s - 2
            new.append(best + row[s])
            ptr.append(arg)
        score = new
        back.append(ptr)
    state = n_s - 1 if score[-1] >= score[-2] else n_s - 2
    if score[state] == -math.inf:
        raise ValueError(f"{text!r} does not fit {len(probs)} columns")
    path = [0] * len(logp)
    for t in range(len(logp) - 1, 0, -1):
        path[t] = state
        state = back[t - 1][state]
    path[0] = state
    return [s // 2 if s % 2 else -1 for s in path]


def _aligned(probs: np.ndarray, text: str) -> tuple[np.ndarray, int, int]:
    """Each character's surest aligned column (n, classes), first and last non-blank column."""
    path = align(probs, text)
    rows = []
    for k, c in enumerate(text):
        cols = [t for t, i in enumerate(path) if i == k]
        rows.append(probs[max(cols, key=lambda t: probs[t, SYMBOLS.index(c)])])
    read = [t for t, i in enumerate(path) if i >= 0]
    return np.stack(rows), read[0], read[-1]


def rank(results: Sequence[OcrResult], top_n: int = 5) -> list[tuple[str, float]]:
    """Every string the members proposed, scored by the geometric mean of its probability under
    each member (`ENSEMBLE_FLOOR` for a member that did not propose it), best first."""
    proposed = [dict(r.alternatives) for r in results]
    candidates = {t for alts in proposed for t in alts}
    log_floor = math.log(ENSEMBLE_FLOOR)
    score = {t: math.exp(sum(math.log(a[t]) if a.get(t, 0) > ENSEMBLE_FLOOR else log_floor
                             for a in proposed) / len(proposed)) for t in candidates}
    return sorted(score.items(), key=lambda kv: (-kv[1], kv[0]))[:top_n]


def _assemble(member_probs: Sequence[np.ndarray], results: Sequence[OcrResult],
              ranked: list[tuple[str, float]]) -> OcrResult:
    """The combined reading of `ranked[0]`: each character's distribution is the mean of the
    members' columns for it (their best path when it reads the text, else forced alignment)."""
    text = ranked[0][0]
    rows, firsts, lasts = [], [], []
    for p, r in zip(member_probs, results, strict=True):
        if r.text == text:  # its best path reads `text`, so that path is the forced alignment
            rows.append(r.probs)
            firsts.append(r.span[0])
            lasts.append(r.span[1])
        else:
            aligned, first, last = _aligned(p, text)
            rows.append(aligned)
            firsts.append(first)
            lasts.append(last)
    char_probs = np.mean(rows, axis=0)
    conf = tuple(float(char_probs[i, SYMBOLS.index(ch)]) for i, ch in enumerate(text))
    span = (min(firsts), max(lasts), len(member_probs[0]))
    return OcrResult(text, conf, ranked[0][1], tuple(ranked), char_probs.astype(np.float32),
                     span)


@dataclass(frozen=True)
class Cascade:
    """When a reader of several members stops asking more of them (docs/ocr.md, cascade): after
    `min_members`, as soon as the combined best string's probability is >= `sure_above` (and,
    with `agree`, every member read so far read that string itself)."""

    min_members: int
    sure_above: float = 1.0
    agree: bool = False

    def sure(self, results: Sequence[OcrResult], ranked: list[tuple[str, float]]) -> bool:
        if len(results) < self.min_members or not ranked or ranked[0][1] < self.sure_above:
            return False
        return not self.agree or all(r.text == ranked[0][0] for r in results)


def read_members(members: Iterable[tuple[np.ndarray, OcrResult]], cascade: Cascade,
                 top_n: int = 5) -> tuple[OcrResult, int]:
    """Combine members' (column probabilities, decoded reading) in order until `cascade` is sure
    (or the members run out); (reading, members used). `members` may be lazy: a member not
    needed is never run. One member alone reads as that member."""
    probs: list[np.ndarray] = []
    results: list[OcrResult] = []
    ranked: list[tuple[str, float]] = []
    for p, r in members:
        probs.append(p)
        results.append(r)
        if len(results) >= cascade.min_members:
            ranked = rank(results, top_n)
            if cascade.sure(results, ranked):
                break
    if len(results) == 1 or not ranked:
        return replace(results[0], alternatives=results[0].alternatives[:top_n]), len(results)
    return _assemble(probs, results, ranked), len(results)


def combine(member_probs: Sequence[np.ndarray], top_n: int = 5) -> OcrResult:
    """One reading from several models' column probabilities of the same crop (see module doc)."""
    members = [(p, decode(p, ENSEMBLE_BEAM)) for p in member_probs]
    return read_members(members, Cascade(len(members)), top_n)[0]


def cascade_of(manifest: Mapping, names: Sequence[str]) -> Cascade:
    """The cascade a reader of these member files uses: the manifest's `ensemble` settings when
    the files are one of its member lists (in order; the default reader's or a region's, see
    `shipped_models`) of several models, else every member (as does a manifest without the
    settings). The settings are checked whenever present."""
    block = _ensemble(manifest)
    lists = _member_lists(block)
    if "min_members" not in block:
        if block.keys() & set(CASCADE_KEYS[1:]):
            raise ValueError("OCR manifest: ensemble.sure_above/agree need min_members")
        return Cascade(len(names))
    # a reader of one model (a region's, say) reads alone: min_members bounds the others
    n = min((len(v) for v in lists.values() if len(v) > 1), default=1)
    k, sure, agree = block["min_members"], block.get("sure_above"), block.get("agree", False)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
        raise ValueError(f"OCR manifest: ensemble.min_members must be an integer 1..{n} "
                         f"(the members listed), got {k!r}")
    if isinstance(sure, bool) or not isinstance(sure, int | float) or not 0 < sure <= 1:
        raise ValueError("OCR manifest: ensemble.sure_above must be a probability in (0, 1], "
                         f"got {sure!r}")
    if not isinstance(agree, bool):
        raise ValueError(f"OCR manifest: ensemble.agree must be true or false, got {agree!r}")
    if list(names) not in lists.values() or len(names) == 1:
        return Cascade(len(names))
    return Cascade(k, float(sure), agree)


def _ensemble(manifest: Mapping) -> Mapping:
    block = manifest.get("ensemble") or {}
    if not isinstance(block, Mapping):
        raise ValueError(f"OCR manifest: 'ensemble' must be an object, got {block!r}")
    return block


def _member_lists(block: Mapping) -> dict[str, list[str]]:
    """Every member list of an `ensemble` block, checked: the default reader's per variant
    (`int8`, `float`) and each region's (`regions.<region>.<variant>`, the same variants)."""
    lists = {k: v for k, v in block.items() if k in ENSEMBLE_VARIANTS}
    default_variants = sorted(lists)  # every region lists these (not the regions added below)
    regions = block.get("regions", {})
    if not isinstance(regions, Mapping):
        raise ValueError(f"OCR manifest: ensemble.regions must be an object, got {regions!r}")
    for region, readers in regions.items():
        if region not in REGION_FAMILIES or not isinstance(readers, Mapping):
            raise ValueError(f"OCR manifest: ensemble.regions.{region} must be a region of "
                             f"{REGION_FAMILIES} holding member lists, got {readers!r}")
        variants = {k: v for k, v in readers.items() if k in ENSEMBLE_VARIANTS}
        if sorted(variants) != default_variants:
            raise ValueError(f"OCR manifest: ensemble.regions.{region} must list the variants "
                             f"{default_variants}, got {sorted(variants)}")
        lists.update({f"regions.{region}.{kind}": v for kind, v in variants.items()})
    for kind, files in lists.items():
        if not (isinstance(files, list) and files and all(isinstance(f, str) for f in files)):
            raise ValueError(f"OCR manifest: ensemble.{kind} must list member files, got {files!r}")
    return lists


def shipped_models(region: str = "us", variant: str = "int8",
                   manifest: Mapping | str | Path = MANIFEST) -> tuple[str, ...]:
    """The member files the unit reads with for `region`: the manifest's reader for that region
    (`ensemble.regions.<region>`, docs/ocr.md "a reader per region") when it has one, else its
    default reader; a manifest without an ensemble names its one model."""
    from inference.runtime import load_manifest

    if region not in REGION_FAMILIES:
        raise ValueError(f"unknown plate region {region!r}; use one of {REGION_FAMILIES}")
    if variant not in ENSEMBLE_VARIANTS:
        raise ValueError(f"unknown OCR variant {variant!r}; use one of {ENSEMBLE_VARIANTS}")
    manifest = load_manifest(manifest)
    lists = _member_lists(_ensemble(manifest))
    files = lists.get(f"regions.{region}.{variant}") or lists.get(variant)
    files = tuple(files) if files else (f"ocr_{variant}.tflite",)
    cascade_of(manifest, files)  # bad cascade settings fail here, not when the unit reads
    return files


class PlateReader:
    """The OCR model(s) behind the runtime wrapper; `read(crop)` on a rectified grayscale crop.

    `model` is one file or a sequence of files read as an ensemble (all must share the manifest,
    the input size and the output's columns x classes); the manifest is the one beside the
    first file unless given. When the files are the manifest's ensemble for a variant, its
    cascade settings decide how many members read each crop (`cascade`, `cascade_of`);
    `reads`, `member_runs`, `last_members` and `mean_members` count what they cost."""

    def __init__(
        self,
        model: str | Path | Sequence[str | Path] = DEFAULT_MODELS,
        num_threads: int = 1,
        manifest: Path | None = None,
        top_n: int = 5,
    ):
        from inference.runtime import Model, load_manifest

        paths = [_resolve(p) for p in ([model] if isinstance(model, str | Path) else model)]
        if not paths:
            raise ValueError("PlateReader needs at least one OCR model")
        if manifest is None:  # the manifest beside the files (the shipped one by default)
            manifest = paths[0].parent / MANIFEST.name
        manifest = load_manifest(manifest)
        self.cascade = cascade_of(manifest, [p.name for p in paths])
        self._models = [Model(p, manifest, num_threads=num_threads) for p in paths]
        self.top_n = top_n
        self.reads = 0  # reads so far, and the members they ran (cascade cost: mean_members)
        self.member_runs = 0
        self.last_members = 0
        for m in self._models:
            shape = m.input_spec.shape
            if shape[1:3] != (OCR_SIZE[1], OCR_SIZE[0]):
                raise ValueError(f"OCR model {m.path.name} input {shape} does not match crops "
                                 f"of {OCR_SIZE}")
        outputs = {tuple(m.output_specs[0].shape[-2:]) for m in self._models}
        if len(outputs) != 1 or next(iter(outputs))[-1] != len(SYMBOLS):
            raise ValueError(f"OCR models must all output (columns, {len(SYMBOLS)}) "
                             f"probabilities, got {sorted(outputs)}")

    def _input(self, crop: np.ndarray) -> np.ndarray:
        if crop.shape != (OCR_SIZE[1], OCR_SIZE[0]):
            raise ValueError(f"crop must be {OCR_SIZE[1]}x{OCR_SIZE[0]} gray, got {crop.shape}")
        return normalise_contrast(crop)[None, :, :, None].astype(np.float32)

    def member_probs(self, crop: np.ndarray) -> list[np.ndarray]:
        """Column probabilities (columns, classes) of each model for one (48, 144) uint8 crop."""
        x = self._input(crop)
        return [m.run(x)[0][0] for m in self._models]

    def probs(self, crop: np.ndarray) -> np.ndarray:
        """Column probabilities of the first (or only) model."""
        return self.member_probs(crop)[0]

    def read(self, crop: np.ndarray) -> OcrResult:
        """The members' combined reading; each member runs only when the cascade asks for it."""
        x = self._input(crop)
        beam = ENSEMBLE_BEAM if len(self._models) > 1 else self.top_n
        members = ((p, decode(p, beam)) for p in (m.run(x)[0][0] for m in self._models))
        result, used = read_members(members, self.cascade, self.top_n)
        self.reads += 1
        self.member_runs += used
        self.last_members = used
        return result

    @property
    def mean_members(self) -> float:
        """Members run per read so far (0.0 before the first read)."""
        return self.member_runs / self.reads if self.reads else 0.0

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(m.path.name for m in self._models)

    @property
    def version(self) -> str | None:
        return self._models[0].version

    def close(self) -> None:
        self._models = []


def _resolve(model: str | Path) -> Path:
    p = Path(model)
    return p if p.is_absolute() or p.exists() else MODELS_DIR / p
