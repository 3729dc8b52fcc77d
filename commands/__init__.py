"""Command groups of the `c360` command line."""
