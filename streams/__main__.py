"""``python -m streams``: run a stream worker until SIGTERM (settings from ``SYMBIOSIS_*``)."""

from runtime.settings import get_settings
from streams.run import main

if __name__ == "__main__":
    main(get_settings())
