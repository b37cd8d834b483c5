"""Labelled cases: reading them from files and public corpora, splitting, mixing, augmenting."""
