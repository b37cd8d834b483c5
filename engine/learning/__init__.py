"""Training and judging the text model: one loop (single or DDP), evaluation, retraining from logs,
versions."""
