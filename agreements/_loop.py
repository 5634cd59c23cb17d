"""pyHanko's synchronous API calls ``asyncio.run``, which fails in a thread whose event loop
is running (an asyncio program, or Playwright's synchronous API in a test). Such calls go to
a worker thread of their own; everywhere else they run where they are."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def outside_event_loop(function: Callable[..., T], *args: object, **kwargs: object) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()
