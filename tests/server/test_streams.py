"""A stream's answers are made ahead of the one being sent (`answered_ahead`), in order, bounded,
and nothing is left running when the stream ends early."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from ruralpost.service.api.streams import answered_ahead


class Source:
    """Answers 0, 1, 2, …, noting which were made and whether it was closed."""

    def __init__(self, count: int = 10, fail_after: int | None = None) -> None:
        self.count, self.fail_after = count, fail_after
        self.made: list[int] = []
        self.closed = False

    async def answers(self) -> AsyncGenerator[int, None]:
        try:
            for i in range(self.count):
                if i == self.fail_after:
                    raise ValueError(f"item {i}")
                self.made.append(i)
                yield i
        finally:
            self.closed = True


def test_answers_are_made_while_one_is_sent_in_order_and_bounded() -> None:
    async def run() -> tuple[list[int], list[int]]:
        source = Source()
        ahead = answered_ahead(source.answers(), depth=2)
        first = await anext(ahead)
        await asyncio.sleep(0.01)  # the transport writing the first answer
        made_meanwhile = list(source.made)
        rest = [answer async for answer in ahead]
        return made_meanwhile, [first, *rest]

    made_meanwhile, answers = asyncio.run(run())
    # two answers wait in the queue, a third waits to be put: never more, however long the write
    assert made_meanwhile == [0, 1, 2, 3]
    assert answers == list(range(10))


def test_an_error_ends_the_stream_after_the_answers_made_before_it() -> None:
    async def run() -> list[int]:
        got = []
        with pytest.raises(ValueError, match="item 3"):
            async for answer in answered_ahead(Source(fail_after=3).answers()):
                got.append(answer)
        return got

    assert asyncio.run(run()) == [0, 1, 2]


@pytest.mark.parametrize("how", ["closed", "cancelled"])
def test_leaving_early_closes_the_answers_and_stops_making_them(how: str) -> None:
    async def run() -> None:
        source = Source(count=1000)
        ahead = answered_ahead(source.answers())

        async def consume() -> None:
            await anext(ahead)
            if how == "closed":
                await ahead.aclose()  # the door stops reading (an error elsewhere, the end of the call)
            else:
                await asyncio.Event().wait()  # the client goes away: the call's task is cancelled

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.01)
        if how == "cancelled":
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await ahead.aclose()  # as the door's `async for` does when its frame is torn down
        else:
            await task
        assert source.closed  # at once, not when the loop shuts down
        made = len(source.made)
        await asyncio.sleep(0.01)
        assert len(source.made) == made < 10  # nothing is made any more

    asyncio.run(run())
