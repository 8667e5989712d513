"""An example project served by the pagesindex demo."""

__version__ = "1.0.0"


def main() -> None:
    print("Hello from a pagesindex index!")
