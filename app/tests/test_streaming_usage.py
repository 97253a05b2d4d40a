"""Usage reaches a streaming client only when it asked for it, wherever the upstream puts it."""

import asyncio
import json

from reasoning_api.streaming import relay

CHOICE = {"index": 0, "delta": {"content": "hi"}, "finish_reason": None}
USAGE = {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}


class Stream:
    def __init__(self, chunks):
        self.chunks = chunks
        self.closed = False

    async def events(self):
        for chunk in self.chunks:
            yield chunk

    async def aclose(self):
        self.closed = True


def relayed(chunks, include_usage):
    async def collect():
        return [event async for event in relay(Stream(chunks), include_usage)]

    events = asyncio.run(collect())
    assert events[-1] == "data: [DONE]\n\n"
    return [json.loads(event.removeprefix("data: ")) for event in events[:-1]]


def test_usage_on_a_chunk_with_a_choice_is_dropped_when_not_asked():
    chunks = relayed([{"choices": [CHOICE], "usage": USAGE}], include_usage=False)
    assert chunks == [{"choices": [CHOICE]}]


def test_a_usage_only_chunk_is_dropped_when_not_asked():
    assert relayed([{"choices": [CHOICE]}, {"choices": [], "usage": USAGE}], include_usage=False) == [{"choices": [CHOICE]}]


def test_usage_is_kept_when_asked():
    chunks = [{"choices": [CHOICE], "usage": USAGE}, {"choices": [], "usage": USAGE}]
    assert relayed(chunks, include_usage=True) == chunks
