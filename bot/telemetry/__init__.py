"""Logs (JSON lines with delivery context, secrets redacted) and Prometheus metrics: used by
every layer, importing nothing of the bot."""
