"""The OCR cascade: members read in order until the combined reading is sure (inference.ocr
read_members / Cascade / cascade_of, PlateReader's manifest settings), and the tools around it
(ocr_ensemble --min-members, ocr_compare --cascade, ocr_cascade's selection, ocr_readers)."""

import json
import shutil

import numpy as np
import pytest

from bench import ocr_readers
from inference.ocr import (
    DEFAULT_MODELS,
    ENSEMBLE_BEAM,
    MANIFEST,
    MODELS_DIR,
    Cascade,
    PlateReader,
    cascade_of,
    combine,
    decode,
    read_members,
)
from inference.rectify import rectify
from inference.training import ocr_cascade, ocr_compare, ocr_ensemble
from inference.training.render import render_plate
from tests.test_ocr_decode import columns_for

SURE = columns_for("_7_A_B_C_1_2_3_", sure=0.99)  # ~0.99^15: a sure 7ABC123
OTHER = columns_for("_7_A_B_G_1_2_3_", sure=0.99)  # a sure, different reading


def counted(probs_list, seen):
    """Members as read_members takes them, lazily; `seen` records which were run."""
    for i, p in enumerate(probs_list):
        seen.append(i)
        yield p, decode(p, ENSEMBLE_BEAM)


def test_a_sure_reading_stops_after_min_members():
    seen = []
    res, used = read_members(counted([SURE, SURE, OTHER], seen), Cascade(2, 0.5), 5)
    assert used == 2 and seen == [0, 1]  # the third member was never run
    assert res.text == "7ABC123"
    assert res.confidence >= 0.5


def test_an_unsure_reading_adds_members():
    unsure = columns_for("_7_A_B_C_1_2_3_", sure=0.5)  # same text, low string probability
    seen = []
    res, used = read_members(counted([unsure, unsure, SURE], seen), Cascade(2, 0.5), 5)
    assert used == 3 and seen == [0, 1, 2]
    assert res.text == "7ABC123"
    # the members run out: the reading of all of them, however unsure
    res, used = read_members(counted([unsure, unsure], []), Cascade(2, 0.99), 5)
    assert used == 2 and res.alternatives == combine([unsure, unsure], 5).alternatives


def test_agree_asks_more_when_the_members_read_differently():
    # SURE and OTHER differ in one character: their combination may still pass a low bar
    no_agree = read_members(counted([SURE, OTHER, SURE], []), Cascade(2, 1e-6), 5)
    assert no_agree[1] == 2
    seen = []
    res, used = read_members(counted([SURE, OTHER, SURE], seen), Cascade(2, 1e-6, True), 5)
    assert used == 3 and res.text == "7ABC123"
    both = read_members(counted([SURE, SURE, OTHER], []), Cascade(2, 1e-6, True), 5)
    assert both[1] == 2


def test_min_members_all_is_the_plain_ensemble_and_one_member_a_single_model():
    members = [SURE, OTHER, columns_for("_7_A_B_C_1_2_3_", sure=0.6)]
    full, used = read_members(counted(members, []), Cascade(3, 1e-6), 5)
    plain = combine(members, 5)
    assert used == 3
    assert (full.text, full.confidence, full.alternatives, full.span) == (
        plain.text, plain.confidence, plain.alternatives, plain.span)
    np.testing.assert_array_equal(full.probs, plain.probs)
    one, used = read_members(counted([SURE, OTHER], []), Cascade(1, 0.5), 3)
    single = decode(SURE, 3)
    assert used == 1 and one.text == single.text and one.alternatives == single.alternatives


def test_nothing_read_is_never_sure():
    blank = columns_for("_" * 15)
    res, used = read_members(counted([blank, blank, SURE], []), Cascade(2, 0.01), 5)
    assert used == 3 and res.text == "7ABC123"
    res, used = read_members(counted([blank, blank], []), Cascade(1, 0.01), 5)
    assert used == 2 and res.text == "" and res.alternatives == ()


LISTS = {"int8": ["a_int8.tflite", "b_int8.tflite", "c_int8.tflite"],
         "float": ["a_float.tflite", "b_float.tflite", "c_float.tflite"]}


def test_cascade_of_reads_the_manifest_settings():
    names = LISTS["int8"]
    assert cascade_of({"ensemble": LISTS}, names) == Cascade(3)  # no settings: every member
    assert cascade_of({}, names[:1]) == Cascade(1)
    block = {**LISTS, "min_members": 2, "sure_above": 0.8}
    assert cascade_of({"ensemble": block}, names) == Cascade(2, 0.8)
    assert cascade_of({"ensemble": block}, LISTS["float"]) == Cascade(2, 0.8)
    assert cascade_of({"ensemble": {**block, "agree": True}}, names) == Cascade(2, 0.8, True)
    # files that are not the manifest's ensemble (another order, a subset): every member
    assert cascade_of({"ensemble": block}, names[::-1]) == Cascade(3)
    assert cascade_of({"ensemble": block}, names[:2]) == Cascade(2)


@pytest.mark.parametrize(("extra", "message"), [
    ({"min_members": 0, "sure_above": 0.8}, "min_members must be an integer 1..3"),
    ({"min_members": 4, "sure_above": 0.8}, "min_members must be an integer 1..3"),
    ({"min_members": "2", "sure_above": 0.8}, "min_members must be an integer"),
    ({"min_members": True, "sure_above": 0.8}, "min_members must be an integer"),
    ({"min_members": 2}, "sure_above must be a probability"),
    ({"min_members": 2, "sure_above": 0}, "sure_above must be a probability"),
    ({"min_members": 2, "sure_above": 1.5}, "sure_above must be a probability"),
    ({"min_members": 2, "sure_above": "high"}, "sure_above must be a probability"),
    ({"min_members": 2, "sure_above": 0.8, "agree": "yes"}, "agree must be true or false"),
    ({"sure_above": 0.8}, "need min_members"),
    ({"agree": True}, "need min_members"),
])
def test_bad_cascade_settings_are_refused(extra, message):
    with pytest.raises(ValueError, match=message):
        cascade_of({"ensemble": {**LISTS, **extra}}, LISTS["int8"][:1])  # checked even so


def test_bad_member_lists_are_refused():
    for bad in ([], "a.tflite", [1, 2]):
        with pytest.raises(ValueError, match="ensemble.int8 must list member files"):
            cascade_of({"ensemble": {"int8": bad}}, ["a.tflite"])
    with pytest.raises(ValueError, match="'ensemble' must be an object"):
        cascade_of({"ensemble": ["a.tflite"]}, ["a.tflite"])


def shipped_copy(folder, **settings):
    """The shipped OCR files and manifest in `folder`, the cascade settings replaced."""
    folder.mkdir()
    manifest = json.loads(MANIFEST.read_text())
    for name in manifest["ensemble"]["int8"]:
        shutil.copy(MODELS_DIR / name, folder / name)
    block = {k: v for k, v in manifest["ensemble"].items()
             if k not in ("min_members", "sure_above", "agree")}
    manifest["ensemble"] = {**block, **settings}
    (folder / "ocr.manifest.json").write_text(json.dumps(manifest))
    return [folder / n for n in manifest["ensemble"]["int8"]]


@pytest.fixture(scope="module")
def crops():
    rng = np.random.default_rng(3)
    clear = []
    for text in ("7ABC123", "8XYZ456", "4GHJ902"):
        p = render_plate(rng, text=text, region="US-CA", width=200, camera=False)
        clear.append((rectify(p.image, p.corners), text))
    noise = np.random.default_rng(4).integers(0, 256, (48, 144)).astype(np.uint8)
    return clear, noise


def test_shipped_reader_is_a_cascade_that_stops_early_on_clear_plates(crops):
    clear, noise = crops
    reader = PlateReader(num_threads=1)
    manifest = json.loads(MANIFEST.read_text())["ensemble"]
    assert reader.models == DEFAULT_MODELS
    assert reader.cascade == Cascade(manifest["min_members"], manifest["sure_above"],
                                     manifest.get("agree", False))
    assert reader.cascade.min_members < len(DEFAULT_MODELS)
    for crop, text in clear:
        assert reader.read(crop).text == text
        assert reader.last_members == reader.cascade.min_members
    reader.read(noise)  # nothing sure to read: every member is asked
    assert reader.last_members == len(DEFAULT_MODELS)
    assert reader.reads == 4 and reader.member_runs == 3 * 2 + 4
    assert reader.mean_members == pytest.approx(2.5)


def test_manifest_without_settings_reads_every_member_as_before(tmp_path, crops):
    clear, noise = crops
    files = shipped_copy(tmp_path / "plain")
    reader = PlateReader(files, num_threads=1)
    assert reader.cascade == Cascade(len(files))
    for crop in [c for c, _ in clear] + [noise]:
        res = reader.read(crop)
        want = combine(reader.member_probs(crop), reader.top_n)
        assert (res.text, res.confidence, res.alternatives) == (
            want.text, want.confidence, want.alternatives)
        np.testing.assert_array_equal(res.probs, want.probs)
        assert reader.last_members == len(files)


def test_reader_settings_come_from_its_manifest(tmp_path, crops):
    clear, _ = crops
    files = shipped_copy(tmp_path / "never_sure", min_members=1, sure_above=1.0)
    reader = PlateReader(files, num_threads=1)
    reader.read(clear[0][0])
    assert reader.last_members == len(files)  # int8 strings never reach probability 1
    files = shipped_copy(tmp_path / "first_only", min_members=1, sure_above=0.01)
    reader = PlateReader(files, num_threads=1)
    assert reader.read(clear[0][0]).text == clear[0][1] and reader.last_members == 1
    bad = shipped_copy(tmp_path / "bad", min_members=9, sure_above=0.5)
    with pytest.raises(ValueError, match="min_members must be an integer 1..4"):
        PlateReader(bad, num_threads=1)


def test_ocr_ensemble_refuses_bad_cascade_settings_before_writing(tmp_path):
    from tests.test_ocr_ensemble import member

    a, b = member(tmp_path / "a"), member(tmp_path / "b")
    out = tmp_path / "out"
    base = ["--member", f"{a}:ocr", "--member", f"{b}:ocrb", "--out", str(out)]
    for extra, message in ((["--sure-above", "0.5"], "need min_members"),
                           (["--min-members", "3", "--sure-above", "0.5"], "1..2"),
                           (["--min-members", "1"], "sure_above must be")):
        with pytest.raises(SystemExit, match=f"ocr_ensemble: .*{message}"):
            ocr_ensemble.main(base + extra)
        assert not out.exists()


def test_stage_writes_the_cascade_settings(tmp_path):
    from tests.test_ocr_ensemble import member

    a, b = member(tmp_path / "a"), member(tmp_path / "b")
    m = ocr_ensemble.stage([(a, "ocr"), (b, "ocrb")], tmp_path / "out",
                           {"min_members": 1, "sure_above": 0.7, "agree": None})
    assert m["ensemble"]["min_members"] == 1 and m["ensemble"]["sure_above"] == 0.7
    assert "agree" not in m["ensemble"]
    reader = PlateReader([tmp_path / "out" / n for n in m["ensemble"]["int8"]], manifest=m)
    assert reader.cascade == Cascade(1, 0.7)


def test_cascade_specs_parse_or_are_refused():
    e = ocr_compare.cascade_arg("a+b+c:2:0.85")
    assert e.members == ("a", "b", "c") and e.settings == {"min_members": 2, "sure_above": 0.85}
    assert e.name == "a+b+c cascade 2@0.85"
    assert ocr_compare.cascade_arg("a+b:1:0.5:agree").settings["agree"] is True
    for bad in ("a+b", "a+b:2", "a+b:x:0.5", "a+b:2:0.5:maybe"):
        with pytest.raises(Exception, match="LABEL\\+LABEL"):
            ocr_compare.cascade_arg(bad)


def test_chains_keep_the_first_members_as_a_set():
    assert ocr_cascade.chains(["a", "b", "c"], 2) == [
        ("a", "b", "c"), ("a", "c", "b"), ("b", "c", "a")]
    assert ("a", "b") in ocr_cascade.chains(["a", "b", "c"], 1)
    assert ("b", "c", "a") in ocr_cascade.chains(["a", "b", "c"], 1)


def test_simulate_stops_at_the_first_sure_prefix():
    # 3 prefixes x 2 plates; thresholds: one. Plate 0 sure at prefix 2, plate 1 never.
    rights = [np.array([False, False]), np.array([True, False]), np.array([True, True])]
    sure = [np.zeros((2, 2, 1), bool) for _ in range(3)]
    sure[1][:, 0, 0] = True
    used, right = ocr_cascade.simulate(rights, sure, min_members=1)
    assert used[0, :, 0].tolist() == [2, 3] and right[0, :, 0].tolist() == [True, True]
    sure[0][:, 1, 0] = True  # plate 1 sure at once, but min_members 2 makes it wait
    used, _ = ocr_cascade.simulate(rights, sure, min_members=2)
    assert used[0, :, 0].tolist() == [2, 3]


def test_choose_follows_the_rule():
    def figs(exact, members):
        return {"s": {"n": 10, "exact": exact, "mean_members": members}}

    base = figs(8, 2.0)
    c = [ocr_cascade.Config(("a", "b"), 1, 0.5, False),
         ocr_cascade.Config(("a", "b", "c"), 2, 0.5, False),
         ocr_cascade.Config(("a", "b", "c"), 2, 0.8, False),
         ocr_cascade.Config(("a", "c"), 1, 0.5, False)]
    figures = {c[0]: figs(7, 1.1),  # worse than the baseline: not eligible
               c[1]: figs(9, 2.2), c[2]: figs(9, 2.1),  # same reads: the cheaper wins
               c[3]: figs(10, 2.4)}  # best, but over the cost budget
    best, eligible = ocr_cascade.choose(figures, base, max_members=2.25)
    assert best == c[2] and [e[0] for e in eligible] == [c[2], c[1]]
    assert ocr_cascade.choose({c[0]: figs(7, 1.1)}, base)[0] is None


def run_folder(folder, prefix):
    """An `alpr train ocr`-like output folder holding the shipped `prefix` files."""
    folder.mkdir()
    manifest = json.loads(MANIFEST.read_text())
    files = {}
    for kind in ("int8", "float"):
        shutil.copy(MODELS_DIR / f"{prefix}_{kind}.tflite", folder / f"ocr_{kind}.tflite")
        files[f"ocr_{kind}.tflite"] = manifest["files"][f"{prefix}_{kind}.tflite"]
    keep = {k: manifest[k] for k in ("family", "symbols", "blank", "input_spec", "alphabet")}
    (folder / "ocr.manifest.json").write_text(json.dumps({**keep, "files": files}))
    return folder


@pytest.mark.slow
def test_selection_tool_simulates_what_the_reader_reads(tmp_path, capsys):
    runs = [(run_folder(tmp_path / p, p), p) for p in ("ocr3", "ocr4", "ocr")]
    args = [a for folder, p in runs for a in ("--member", f"{folder}:{p}")]
    assert ocr_cascade.main(args + ["--baseline", "ocr+ocr3", "--synthetic", "12",
                                    "--stacked", "4", "--top", "2"]) == 0
    out = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert out["configurations"] > 0 and out["baseline"]["synthetic (seed 4242)"]["n"] == 12
    # every configuration of the grid, simulated, equals read_members on the same readings
    sets = ocr_cascade.selection_sets(None, 12, 4)
    items = [it for v in sets.values() for it in v]
    labels = [p for _, p in runs]
    staged = ocr_ensemble.stage(runs, tmp_path / "staged")
    reader = PlateReader([tmp_path / "staged" / n for n in staged["ensemble"]["int8"]],
                         manifest=staged)
    read = ocr_cascade.read_all(reader, items)
    texts = [t for _, t in items]
    bounds = {"all": slice(0, len(items))}
    grid = ocr_cascade.grid(read, texts, labels, bounds, thresholds=(0.3, 0.8))
    for config, figs in list(grid.items())[::5]:
        exact, mean = ocr_cascade.check(config, read, texts, labels)
        assert (figs["all"]["exact"], figs["all"]["mean_members"]) == (exact, round(mean, 3))
    with pytest.raises(SystemExit, match="names no --member"):
        ocr_cascade.main(args + ["--baseline", "ocr+zz"])


def test_bench_times_a_cascade_beside_the_plain_pair(tmp_path, capsys):
    a, b = run_folder(tmp_path / "a", "ocr3"), run_folder(tmp_path / "b", "ocr4")
    assert ocr_readers.main(["--member", f"{a}:a", "--member", f"{b}:b", "--reader", "a+b",
                             "--reader", "a+b:1:0.01", "--rounds", "1"]) == 0
    out = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert out["baseline"] == "a+b" and out["crops"] == 21
    assert out["mean_members"] == {"a+b": 2.0, "a+b:1:0.01": pytest.approx(1.0, abs=0.2)}
    assert set(out["mean_ms"]) == set(out["mean_ratio"]) == {"a+b", "a+b:1:0.01"}
