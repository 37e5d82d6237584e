"""Tables of this context (filled in by its issue)."""
