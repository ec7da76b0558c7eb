"""Logistic growth with harvesting and diffusion: a test-only oncoscale family (ODE + 1D PDE)."""
