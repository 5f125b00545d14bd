"""The package's version, on the ground floor: any layer may stamp it on what it writes."""

__version__ = "0.1.0"
