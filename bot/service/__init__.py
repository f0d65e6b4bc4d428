"""The running App: the composition root (``app``), webhook intake, workers, the routers list,
scheduling, redelivery and upkeep."""
