"""Weekly summary: data assembly from the store, ISO-week arithmetic, once-per-week posting."""
