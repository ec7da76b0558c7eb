"""Kinetic tumour-immune competition (seed 000): the kinetic (velocity-activity) solver, its
macroscopic limits (linear, cross- and self-diffusion PDEs), the homogeneous reductions with
their equilibria and bifurcations. Dimensionless time (units of 1/r) and space."""
