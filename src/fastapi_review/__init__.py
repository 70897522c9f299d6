"""fastapi-review: a measured review of FastAPI backends against their tech design."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fastapi-review")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]
