"""Exercises for the challenges chapter's bias notebook."""
