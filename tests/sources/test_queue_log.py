"""The queue_log parser on real public samples, on generated logs of every layout, and on
broken lines: each line gives the contract event Asterisk meant, or a reason."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.events.decode import DeadLetter
from streams.sources.queue_log import (
    Bad,
    Contact,
    EnterTimes,
    Other,
    event_id,
    parse_line,
    split_nul,
)
from streams.sources.sink import Checker
from tests.sources.qlgen import LAYOUTS, generate

DATA = Path(__file__).resolve().parents[1] / "data" / "queue_log"


def labels(queue: str) -> tuple[str, str]:
    return {"billing": ("support", "voice")}.get(queue, (queue, "voice"))


def parse_all(lines: list[bytes]) -> list[Contact | Other | Bad]:
    enters = EnterTimes()
    out: list[Contact | Other | Bad] = []
    for raw in lines:
        segments, _ = split_nul(raw)
        out += [parse_line(segment, labels, enters) for segment in segments]
    return out


def read(name: str) -> list[bytes]:
    return (DATA / name).read_bytes().splitlines(keepends=True)


def kinds(outcomes: list[Contact | Other | Bad]) -> list[str]:
    return [
        o.body["type"] if isinstance(o, Contact) else o.event if isinstance(o, Other) else o.reason
        for o in outcomes
    ]


def test_the_asterisk_book_sample_gives_two_answered_calls_and_one_completion() -> None:
    outcomes = parse_all(read("asteriskdocs-acd.queue_log"))
    assert Counter(kinds(outcomes)) == {
        "contact.offered": 2,
        "contact.answered": 2,
        "contact.completed": 1,
        "RINGNOANSWER": 2,
        "REMOVEMEMBER": 4,
        "ADDMEMBER": 2,
    }
    answered = [o.body for o in outcomes if isinstance(o, Contact) and o.event == "CONNECT"]
    assert answered[0] == {
        "event_id": answered[0]["event_id"],
        "type": "contact.answered",
        "occurred_at": "2010-12-13T22:57:28+00:00",
        "team": "7100",
        "channel": "voice",
        "contact_id": "psy1-1292281041.87",
        "queue": "7100",
        "agent": "Local/9990@MemberConnector",
        "wait_seconds": 2,
    }
    done = next(o.body for o in outcomes if isinstance(o, Contact) and o.event == "COMPLETECALLER")
    assert (done["talk_seconds"], done["agent"], "transferred" in done) == (
        3073,
        "Local/9990@MemberConnector",
        False,
    )


def test_the_2020_sample_has_an_abandon_of_68_seconds_and_queue_starts() -> None:
    outcomes = parse_all(read("github-asterisk-queues-note.queue_log"))
    assert Counter(kinds(outcomes)) == {
        "QUEUESTART": 6,
        "ADDMEMBER": 1,
        "contact.offered": 2,
        "contact.abandoned": 1,
    }
    abandon = next(o.body for o in outcomes if isinstance(o, Contact) and o.event == "ABANDON")
    assert (abandon["wait_seconds"], abandon["reason"], abandon["queue"]) == (
        68,
        "hangup",
        "support",
    )


def test_the_older_samples_parse_without_a_bad_line() -> None:
    for name in ("asterisk-wiki-queue-logs.queue_log", "queuemetrics-blog-2007.queue_log"):
        outcomes = parse_all(read(name))
        assert outcomes and not [o for o in outcomes if isinstance(o, Bad)], name
    offered = parse_all(read("queuemetrics-blog-2007.queue_log"))
    assert kinds(offered) == ["contact.offered"] * 3  # 1.2-era ENTERQUEUE: url|callerid only


def test_every_event_of_the_samples_passes_the_workers_decoder() -> None:
    checker = Checker(65536)
    for path in sorted(DATA.glob("*.queue_log")):
        for outcome in parse_all(path.read_bytes().splitlines()):
            if isinstance(outcome, Contact):
                assert not isinstance(checker.check(outcome.body), DeadLetter), (path, outcome)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    layouts=st.lists(st.sampled_from(LAYOUTS), min_size=1, max_size=4, unique=True),
)
def test_generated_logs_of_every_layout_give_exactly_the_drawn_events(
    seed: int, layouts: list[str]
) -> None:
    generated = generate(
        1_790_000_000,
        60,
        seed=seed,
        layouts=tuple(layouts),
        teams={"billing": ("support", "voice")},
    )
    outcomes = parse_all([line.encode() for line in generated.lines])
    assert not [o for o in outcomes if isinstance(o, Bad)]
    assert [o.body for o in outcomes if isinstance(o, Contact)] == generated.events


def test_every_event_type_and_transfer_variant_is_covered_by_the_generator() -> None:
    generated = generate(1_790_000_000, 3000, seed=3)
    events = Counter(line.split("|")[4] for line in generated.lines)
    methods = Counter(
        line.split("|")[5] for line in generated.lines if line.split("|")[4] == "ATTENDEDTRANSFER"
    )
    contact = {"ENTERQUEUE", "CONNECT", "ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY"}
    contact |= {"COMPLETECALLER", "COMPLETEAGENT", "TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER"}
    assert contact <= set(events)
    assert set(methods) == {"BRIDGE", "APP", "LINK"}
    short_timeouts = [
        line for line in generated.lines if line.count("|") == 5 and "EXITWITH" in line
    ]
    assert short_timeouts, "the 1.8 EXITWITHTIMEOUT|position layout must be covered"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"", "blank"),
        (b"   \r\n", "blank"),
        (b"1700000000|1.1|q|NONE", "missing_field"),
        (b"17000x0000|1.1|q|NONE|ENTERQUEUE||5|1", "bad_epoch"),
        (b"-1700000000|1.1|q|NONE|ENTERQUEUE||5|1", "bad_epoch"),
        (b"12|1.1|q|NONE|ENTERQUEUE||5|1", "bad_epoch"),
        (b"99999999999|1.1|q|NONE|ENTERQUEUE||5|1", "bad_epoch"),
        (b"1700000000|1.1|q|NONE|FROBNICATE|1", "unknown_event"),
        (b"1700000000|NONE|q|NONE|ENTERQUEUE||5|1", "missing_field"),
        (b"1700000000|1.1|q|SIP/1|CONNECT", "missing_field"),
        (b"1700000000|1.1|q|SIP/1|CONNECT|abc|1.2|0", "bad_field"),
        (b"1700000000|1.1|q|SIP/1|CONNECT|-3|1.2|0", "bad_field"),
        (b"1700000000|1.1|q|NONE|ABANDON|1|1", "missing_field"),
        (b"1700000000|1.1|q|SIP/1|COMPLETEAGENT|5", "missing_field"),
        (b"1700000000|1.1|q|SIP/1|TRANSFER|100|ctx|5", "missing_field"),
        (b"1700000000|1.1|q|SIP/1|ATTENDEDTRANSFER|BRIDGE", "missing_field"),
    ],
)
def test_broken_lines_are_refused_with_a_reason(line: bytes, reason: str) -> None:
    outcome = parse_line(line, labels, EnterTimes())
    assert isinstance(outcome, Bad) and outcome.reason == reason, outcome


def test_an_exit_without_its_wait_takes_it_from_the_calls_enterqueue() -> None:
    enters = EnterTimes()
    parse_line(b"1700000000|9.9|q|NONE|ENTERQUEUE||5", labels, enters)
    outcome = parse_line(b"1700000042|9.9|q|NONE|EXITWITHTIMEOUT|1", labels, enters)
    assert isinstance(outcome, Contact) and outcome.body["wait_seconds"] == 42
    unknown = parse_line(b"1700000042|8.8|q|NONE|EXITWITHTIMEOUT|1", labels, enters)
    assert isinstance(unknown, Bad) and unknown.reason == "missing_field"


def test_a_nul_run_left_by_an_unclean_shutdown_is_cut_out_and_the_next_line_kept() -> None:
    raw = b"1700000000|1.1|q|NONE|ENTERQ" + b"\0" * 300 + b"1700000100|2.2|q|NONE|ENTERQUEUE||5|1\n"
    segments, nuls = split_nul(raw)
    assert nuls == 300 and len(segments) == 2
    outcomes = [parse_line(s, labels) for s in segments]
    assert isinstance(outcomes[0], Bad) and outcomes[0].reason == "unknown_event"
    assert isinstance(outcomes[1], Contact) and outcomes[1].body["contact_id"] == "2.2"
    assert split_nul(b"\0" * 4096) == ([], 4096)


def test_ids_are_the_same_for_the_same_line_whatever_its_line_ending() -> None:
    one = parse_line(b"1700000000|1.1|q|NONE|ENTERQUEUE||5|1\n", labels)
    two = parse_line(b"1700000000|1.1|q|NONE|ENTERQUEUE||5|1\r\n", labels)
    other = parse_line(b"1700000001|1.1|q|NONE|ENTERQUEUE||5|1\n", labels)
    assert isinstance(one, Contact) and isinstance(two, Contact) and isinstance(other, Contact)
    assert one.body["event_id"] == two.body["event_id"] != other.body["event_id"]
    assert one.body["event_id"] == event_id(b"1700000000|1.1|q|NONE|ENTERQUEUE||5|1")


def test_queue_team_and_channel_come_from_the_labels() -> None:
    outcome = parse_line(b"1700000000|1.1|billing|NONE|ENTERQUEUE||5|1", labels)
    assert isinstance(outcome, Contact)
    assert (outcome.body["team"], outcome.body["channel"]) == ("support", "voice")


@pytest.mark.parametrize(
    ("data", "talk"),
    [
        ("BRIDGE|5e1f-41c2|12|340|2", 340),
        ("APP|Voicemail|12|341|2", 341),
        ("LINK|PJSIP/100-0001|PJSIP/200-0002|12|342|2", 342),
        ("LINK|PJSIP/100-0001|PJSIP/200-0002|12|343|2||", 343),  # padded to data5 and more
        ("FAIL|12|344|2", 344),  # a method this parser does not know: times from the end
    ],
)
def test_attended_transfers_of_every_method_read_their_call_time(data: str, talk: int) -> None:
    line = f"1700000000|1.1|q|PJSIP/100|ATTENDEDTRANSFER|{data}".encode()
    outcome = parse_line(line, labels)
    assert isinstance(outcome, Contact), outcome
    assert (outcome.body["talk_seconds"], outcome.body["transferred"]) == (talk, True)


def test_realtime_padding_of_unused_data_fields_changes_nothing() -> None:
    padded = parse_line(b"1700000000|1.1|q|SIP/1|COMPLETECALLER|4|120|1||", labels)
    plain = parse_line(b"1700000000|1.1|q|SIP/1|COMPLETECALLER|4|120|1", labels)
    assert isinstance(padded, Contact) and isinstance(plain, Contact)
    assert padded.body["talk_seconds"] == plain.body["talk_seconds"] == 120
