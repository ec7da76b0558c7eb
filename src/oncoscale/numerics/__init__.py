"""Model-agnostic numerics, the bottom of the house: grids and finite volumes, tridiagonal and
DCT (Helmholtz) solvers, time schemes registered by name (IMEX ARK, Euler variants),
nonlinear diffusion, continuation and periodic orbits, particle neighbour search, random
sampling kernels, radial profiles and fronts, and the registry of checkpointable states."""
