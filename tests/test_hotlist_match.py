"""Matching: exact, wildcard patterns, confusion-aware over candidates; alerts from matches."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.hotlist.manager import HotlistManager, make_alert
from appliance.hotlist.matcher import Matcher
from appliance.hotlist.model import CONFUSION_GROUPS, confusion_key
from appliance.uplink.sim import make_read
from provisioning.hotlist_format import HotlistEntry
from tests.test_hotlist_lists import KEY, NOW, write_signed


def E(plate, category="stolen-vehicle", **kw):
    return HotlistEntry(plate=plate, category=category, **kw)


def kinds(matcher, text):
    return sorted((m.entry.plate, m.kind, m.differences) for m in matcher.match_text(text, NOW))


def test_exact_and_patterns():
    m = Matcher([E("7ABC123"), E("7AB?12?", "partial-plate"), E("*XYZ9*", "partial-plate"),
                 E("5K*77", "partial-plate")], tolerance=0)
    assert kinds(m, "7ABC123") == [("7AB?12?", "pattern", 0), ("7ABC123", "exact", 0)]
    assert kinds(m, "7ABD129") == [("7AB?12?", "pattern", 0)]
    assert kinds(m, "1XYZ9A") == [("*XYZ9*", "pattern", 0)]
    assert kinds(m, "XYZ9") == [("*XYZ9*", "pattern", 0)]
    assert kinds(m, "5K00077") == [("5K*77", "pattern", 0)]
    assert kinds(m, "5K0007") == [] and kinds(m, "7ABC12") == [] and kinds(m, "8ABC123") == []


def test_confusion_tolerance():
    entries = [E("7ABC123"), E("7AB?12?", "partial-plate"), E("*XYZ9*", "partial-plate")]
    strict, one, two = (Matcher(entries, tolerance=t) for t in (0, 1, 2))
    assert kinds(strict, "7A8C123") == []
    assert kinds(one, "7A8C123") == [("7AB?12?", "confusion", 1), ("7ABC123", "confusion", 1)]
    assert kinds(one, "7A8C12Z") == [("7AB?12?", "confusion", 1)]  # Z in a wildcard slot is free
    assert kinds(one, "7A8CI23") == []  # two look-alikes: beyond tolerance 1
    assert [k for k in kinds(two, "7A8CI23") if k[1] == "confusion"][0][2] == 2
    assert kinds(one, "1XY29A") == [("*XYZ9*", "confusion", 1)]
    assert kinds(one, "7AXC123") == []  # X is no look-alike of B


def test_candidates_and_priority_order():
    m = Matcher([E("8XYZ999", "stolen-plate"), E("6MIS001", "missing-person"),
                 E("6MIS0?1", "partial-plate")], tolerance=1)
    got = m.match_candidates(["6MlS001", "6MIS001", "8XYZ999"], NOW)  # noisy first candidate
    assert [(x.entry.category, x.kind, x.candidate) for x in got] == [
        ("missing-person", "exact", "6MIS001"), ("stolen-plate", "exact", "8XYZ999"),
        ("partial-plate", "pattern", "6MIS001")]


def test_expired_entries_do_not_match():
    m = Matcher([E("ABC123", expires=NOW - 1), E("ABC124", expires=NOW + 1)])
    assert kinds(m, "ABC123") == [] and kinds(m, "ABC124") == [("ABC124", "exact", 0)]


def _reference(entry, cand, tol):
    """Brute force for exact and '?' entries: same length, look-alikes counted."""
    if len(entry) != len(cand):
        return None
    d = 0
    for p, c in zip(entry, cand, strict=True):
        if p == "?" or p == c:
            continue
        if confusion_key(p) != confusion_key(c):
            return None
        d += 1
    return d if d <= tol else None


ALPHA = "0ODQ1IL2Z5S8BABC79?"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(ALPHA, min_size=3, max_size=5), min_size=1, max_size=30),
       st.text(ALPHA.replace("?", ""), min_size=3, max_size=5), st.integers(0, 2))
def test_index_agrees_with_brute_force(plates, cand, tol):
    entries = [E(p) for p in set(plates) if sum(c != "?" for c in p) >= 1]
    m = Matcher(entries, tolerance=tol)
    got = {(x.entry.plate, x.differences) for x in m.match_text(cand, NOW)}
    want = {(e.plate, d) for e in entries if (d := _reference(e.plate, cand, tol)) is not None}
    assert got == want


def test_confusion_groups_are_disjoint():
    chars = "".join(CONFUSION_GROUPS)
    assert len(chars) == len(set(chars))


class RecordingStore:
    def __init__(self):
        self.alerts = []

    def add_alert(self, alert):
        self.alerts.append(alert)


def test_manager_raises_stored_unverified_alerts(tmp_path):
    d = tmp_path / "h"
    d.mkdir()
    write_signed(d / "list.csv", b"# version: 5\nplate,category,state,source\n"
                                 b"7ABC123,stolen vehicle,CA,CHP\n6MIS001,missing person,,NCIC\n")
    store, woken = RecordingStore(), []
    mgr = HotlistManager(d, KEY.public_key(), store=store, on_alert=woken.append,
                         clock=lambda: NOW)
    mgr.reload()
    read = make_read("7A8C123", alts=("7ABC123",))
    alerts = mgr.check(read)
    assert len(alerts) == 1 and store.alerts == alerts and woken == alerts
    a = alerts[0]
    assert (a.read_id, a.plate, a.matched_entry, a.matched_candidate) == (
        read.read_id, "7A8C123", "7ABC123", "7ABC123")
    assert (a.category, a.priority, a.match_kind, a.hotlist_version) == (
        "stolen-vehicle", 2, "exact", "list.csv@5")
    assert "UNVERIFIED" in a.notice and "CLETS" in a.notice
    assert a.extra["state_agrees"] is True and a.extra["source"] == "CHP"
    assert not hasattr(a, "confirmed")  # nothing on the unit can confirm an alert
    assert mgr.check(make_read("6MIS001"))[0].priority == 1
    assert mgr.check(make_read("1NOPE11")) == []


def test_alert_dataclass_is_frozen():
    m = Matcher([E("ABC123")]).match_text("ABC123", NOW)[0]
    a = make_alert(make_read("ABC123"), m, "v", NOW)
    with pytest.raises(AttributeError):
        a.notice = "confirmed"
