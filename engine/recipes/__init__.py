"""Recipes with a main(): how the shipped models are built (kept apart from the library)."""
