"""Exercises for the challenges chapter's incontext notebook."""
