"""Exercises for the challenges chapter's languages notebook."""
