"""The history fold, in-process: the final records it publishes equal the oracle's finals,
and folding months of history holds only the windows still open (memory stays bounded)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from streams.config import parse_config
from streams.settings import load_settings
from streams.sources.history import HistoryFold
from streams.sources.sink import Checked, Checker
from tests.oracle.compare import diff_finals
from tests.sources.helpers import CONFIG, TEAMS, oracle
from tests.sources.qlgen import generate

ONE_PARTITION = {"cc.contacts": 1, "cc.tickets": 0, "cc.surveys": 0, "cc.quality": 0}


def test_months_of_history_give_the_reference_finals_and_hold_only_open_windows() -> None:
    start = int(datetime(2026, 7, 1, tzinfo=UTC).timestamp())
    generated = generate(start, 6_000, seed=41, teams=TEAMS, spacing=1200)  # about 83 days
    last = max(datetime.fromisoformat(e["occurred_at"]) for e in generated.events)
    cutoff = last.timestamp() + 40 * 86400  # a deployment well past all of it
    fold = HistoryFold(load_settings(), parse_config(CONFIG), cutoff, batch=500)
    checker = Checker(65536)
    published: dict[str, dict[str, object]] = {}
    most_windows = 0
    for event in generated.events:
        checked = checker.check(event)
        assert isinstance(checked, Checked)
        assert fold.closed(checked.occurred_at)
        fold.add(checked)
        if fold.pending == 0:  # a batch was just folded
            for key, value in fold.due_records():
                published[key.decode()] = orjson.loads(value)
            most_windows = max(most_windows, len(fold.merger.windows))
    fold.close_all()
    for key, value in fold.due_records():
        published[key.decode()] = orjson.loads(value)
    assert fold.folded == len(generated.events)
    # Every window is closed at the cutoff, as the oracle closes them at a marker there.
    marker = {
        "event_id": "marker",
        "type": "contact.offered",
        "occurred_at": datetime.fromtimestamp(cutoff, UTC).isoformat(),
        "team": "zz-marker",
        "channel": "voice",
        "contact_id": "m",
        "queue": "m",
    }
    expected = oracle([*generated.events, marker], partitions=ONE_PARTITION)
    wanted = {k: v for k, v in expected.finals.items() if "zz-marker" not in k}
    assert len(wanted) > 5_000
    assert diff_finals(wanted, published) == []
    hours = 83 * 24
    assert 0 < most_windows < hours / 10, f"{most_windows} windows held at once"
