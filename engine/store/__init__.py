"""The session store: one SQLite file (sqlite-utils), its schema, reads and attachments."""
