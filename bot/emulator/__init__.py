"""A stateful GitHub emulator (REST + signed webhooks) validated against GitHub's OpenAPI
description: the tests' GitHub, and the demo's. See GitHubEmulator."""

from bot.emulator.core import EmulatorError, GitHubEmulator, RequestRecord
from bot.emulator.faults import Fault, FaultSet
from bot.emulator.state import AppRecord
from bot.emulator.webhooks import Delivery

__all__ = [
    "AppRecord",
    "Delivery",
    "EmulatorError",
    "Fault",
    "FaultSet",
    "GitHubEmulator",
    "RequestRecord",
]
