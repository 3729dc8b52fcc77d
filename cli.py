"""Command line of the Customer 360 service."""

import typer

app = typer.Typer()
