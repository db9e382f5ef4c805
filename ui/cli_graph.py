"""CLI verbs (to be filled)."""
