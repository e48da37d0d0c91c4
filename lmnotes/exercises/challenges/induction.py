"""Exercises for the challenges chapter's induction notebook."""
