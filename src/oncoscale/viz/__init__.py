"""Figures (per family, found through its declaration), movies, and the HTML reports."""
