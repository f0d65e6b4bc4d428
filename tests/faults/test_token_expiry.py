"""An installation token that expires in the middle of a job: one refresh, the job completes."""

from __future__ import annotations

from tests.support.world import HEAD_SOURCE, MODULE_PATH, World, until


async def test_token_expired_mid_job_is_refreshed_once(world: World) -> None:
    emu = world.emu
    # The files listing is held back; the token expires while it waits (GitHub checks the
    # token when it answers), so that call and the rest of the job need a new one.
    emu.faults.add(method="GET", path=r"/pulls/\d+/files$", status=None, delay=0.4)
    number, head = world.open_pr({MODULE_PATH: HEAD_SOURCE})
    await until(lambda: world.runs(head), what="the check run created with the first token")
    mints = len(world.requests_to(r"^POST /app/installations/\d+/access_tokens$"))
    assert mints == 1
    emu.expire_tokens()
    rows = await world.idle()
    assert [(r["state"], r["attempts"]) for r in rows if r["event"] == "pull_request"] == [
        ("done", 1)
    ]
    assert len(world.requests_to(r"^POST /app/installations/\d+/access_tokens$")) == 2
    unauthorized = [r for r in emu.requests if r.status == 401]
    assert len(unauthorized) == 1  # the one call that met the expired token
    (run,) = world.runs(head)
    assert run["conclusion"] == "failure"
    assert len(world.bot_comments(number)) == 1
