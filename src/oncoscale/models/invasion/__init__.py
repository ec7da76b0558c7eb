"""Fully continuous individual-based tumour invasion (seed 004): the off-lattice IBM (age,
five phenotypes, quiescence, necrosis, Brownian motion and haptotaxis, MM/MDE/O2 particles)
and its age-structured PDE limit, in 2D and 3D. Time in days, nondimensional space."""
