"""The change feed never lets a reader skip an item, however publishing transactions interleave.

Two trades publish at once. The first publisher holds the feed row's lock until it commits; the second waits
for that commit before it can draw the next sequence number, so numbers are visible in the order they were
drawn: a reader holding cursor N can never miss an item with a number below N that commits later.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from persistence.models import ProcessInstance
from services import disclosure, public
from services.platform import Platform
from tests.disclosure.support import Demo

WAIT = 20.0


@pytest.fixture
def demo(client: Any, make_user: Callable[..., dict[str, str]]) -> Demo:
    return Demo.deployed(client, make_user)


def _publish(session: Session, instance_id: str, title: str) -> int:
    instance = session.get(ProcessInstance, instance_id)
    assert instance is not None
    row = disclosure.publish(session, instance, "Task_Notice", "announcement", {"title": title}, {}, None,
                             instance.updated_at)
    return row.feed_seq


def test_a_second_publisher_draws_its_number_only_after_the_first_commits(demo: Demo, platform: Platform) -> None:
    first_trade, second_trade = demo.start("FEED-A")["id"], demo.start("FEED-B")["id"]
    drawn: dict[str, int] = {}
    second_drew, second_may_commit = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def second_publisher() -> None:
        def use_case(session: Session) -> None:
            drawn["second"] = _publish(session, second_trade, "第二个公告")
            second_drew.set()
            assert second_may_commit.wait(WAIT)

        try:
            platform.db.run(use_case, retries=0)  # no retry needed: the first insert races cleanly
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)
            second_drew.set()

    with platform.db.unit_of_work() as session:
        drawn["first"] = _publish(session, first_trade, "第一个公告")
        thread = threading.Thread(target=second_publisher)
        thread.start()
        # the second publisher waits on the feed row (or SQLite's write lock) while the first is open
        assert not second_drew.wait(1.0)
        assert public.feed(platform)["items"] == []  # nothing committed yet
    # the first commits; only now may the second draw, and it draws the next number
    assert second_drew.wait(WAIT) and not failures, failures
    assert (drawn["first"], drawn["second"]) == (1, 2)

    # between the two commits a reader sees item 1 and holds cursor 1 ...
    page = public.feed(platform)
    assert [i["feed_seq"] for i in page["items"]] == [1] and page["next_cursor"] == 1
    second_may_commit.set()
    thread.join(WAIT)
    assert not thread.is_alive() and not failures, failures
    # ... and reading on from it finds item 2: nothing was skipped
    assert [i["title"] for i in public.feed(platform, cursor=page["next_cursor"])["items"]] == ["第二个公告"]


def test_a_rolled_back_publication_leaves_no_gap(demo: Demo, platform: Platform) -> None:
    first_trade, second_trade = demo.start("FEED-C")["id"], demo.start("FEED-D")["id"]

    def publish_then_fail(session: Session) -> None:
        _publish(session, first_trade, "撤回前的公告")
        raise RuntimeError("the step failed after publishing")

    with pytest.raises(RuntimeError):
        platform.db.run(publish_then_fail)
    platform.db.run(lambda session: _publish(session, second_trade, "公告"))

    assert [(i["feed_seq"], i["title"]) for i in public.feed(platform)["items"]] == [(1, "公告")]
