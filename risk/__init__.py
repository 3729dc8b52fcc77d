"""Risk scores with reason codes, computed from the gold tables (issue #6)."""
