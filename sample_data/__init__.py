"""Seeded generator of messy omnichannel source data with ground truth, and the small sample it wrote."""
