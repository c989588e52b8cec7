"""trainkit: a static training-site generator for team leaders."""

__version__ = "0.1.0"
