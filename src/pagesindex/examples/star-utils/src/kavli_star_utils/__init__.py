"""Example pre-release project for the pagesindex demo."""

__version__ = "0.2.0b1"


def magnitude_to_flux(magnitude: float, zero_point: float = 0.0) -> float:
    """Flux ratio for an apparent magnitude (Pogson's relation)."""
    return 10 ** (-0.4 * (magnitude - zero_point))
