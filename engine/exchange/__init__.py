"""Sessions in and out: the export format, export/import, merging and redaction."""
