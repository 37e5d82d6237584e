"""Kennisnemingsrecht (art. 10, 16): subject-access requests and their reports."""
