"""Oncolytic virus + immune system (seed 003): one parameter set, the homogeneous ODE with its
equilibria and Hopf points, the radial / planar / 2D continuum PDE and the stochastic lattice
ABM (compiled kernels and their NumPy reference). Time in h, space in mm."""
