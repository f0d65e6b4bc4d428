from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.dashboard.standalone import make_app
from tests.dashboard.dashtest_support import NOW, seeded_source


@pytest.fixture
async def client() -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(make_app(seeded_source(), clock=lambda: NOW))) as c:
        yield c
