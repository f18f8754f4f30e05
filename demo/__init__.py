"""Demo data for Keyledger: an emulated AWS organization seeded in moto.

``demo.seed.seed_organization`` is the one entry point; ``make demo``, the tests and the
benchmarks all use it, so they agree on what the organization contains.
"""
