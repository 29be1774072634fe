"""The Workflows page's poller: one poll loop per watched thing, shared by its pages, only while one is open;
a page gets the current state at once and then only changes."""

from __future__ import annotations

import asyncio

from sandbox.webui.live import Poller


class Source:
    """A compute function whose answer the test changes; counts its calls."""

    def __init__(self) -> None:
        self.value = "a"
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return self.value


async def next_item(queue: asyncio.Queue[str]) -> str:
    return await asyncio.wait_for(queue.get(), timeout=10)


def test_pages_share_one_poll_and_it_stops_with_the_last_page() -> None:
    async def scenario() -> None:
        poller = Poller(interval=0.01)
        source = Source()
        async with poller.subscribe("list", source) as first:
            assert await next_item(first) == "a"
            async with poller.subscribe("list", source) as second:
                assert await next_item(second) == "a"  # the latest state, without waiting for a change
                assert len(poller._watches) == 1
                source.value = "b"
                assert await next_item(first) == "b"
                assert await next_item(second) == "b"
            # Unchanged answers are not pushed again.
            calls = source.calls
            while source.calls < calls + 3:
                await asyncio.sleep(0.01)
            assert first.empty()
        assert poller._watches == {}
        stopped_at = source.calls
        await asyncio.sleep(0.1)
        assert source.calls == stopped_at

    asyncio.run(scenario())


def test_a_failing_poll_is_reported_to_the_page_and_polling_goes_on() -> None:
    async def scenario() -> None:
        poller = Poller(interval=0.01)
        answers = iter([RuntimeError("boom"), "ok"])

        def compute() -> str:
            answer = next(answers, "ok")
            if isinstance(answer, Exception):
                raise answer
            return answer

        async with poller.subscribe("execution:x", compute) as queue:
            assert '"problem": "internal_error"' in await next_item(queue)
            assert await next_item(queue) == "ok"

    asyncio.run(scenario())
