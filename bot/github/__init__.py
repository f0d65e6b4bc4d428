"""GitHub App auth (JWT, installation tokens) and the gidgethub client the bot uses."""

from bot.github.app import GitHubApp, bot_login, installation_client
from bot.github.auth import AuthError, InstallationTokenCache, app_jwt
from bot.github.client import BotGitHubAPI, CallCounter, GitHubUnavailable, RetryPolicy

__all__ = [
    "AuthError",
    "BotGitHubAPI",
    "CallCounter",
    "GitHubApp",
    "GitHubUnavailable",
    "InstallationTokenCache",
    "RetryPolicy",
    "app_jwt",
    "bot_login",
    "installation_client",
]
