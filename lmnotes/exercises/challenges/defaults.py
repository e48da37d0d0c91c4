"""Exercises for the challenges chapter's defaults notebook."""
