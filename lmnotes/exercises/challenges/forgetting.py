"""Exercises for the challenges chapter's forgetting notebook."""
