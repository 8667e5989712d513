"""Checks over the state and the built site (integrity, and later dependency confusion)."""
