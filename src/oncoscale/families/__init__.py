"""The shipped families' declarations: one small module per family, at the top of the house.

Each module defines ``FAMILY``, a :class:`~oncoscale.models.registry.Family` naming the family's
parts in the layers they belong to, and is registered as an entry point of the group
``oncoscale.families`` in pyproject.toml. Nothing in the core imports these modules; a new
family (here or in another distribution) is a new module plus its entry point.
"""
