"""``python -m streams``: run a stream worker until SIGTERM (settings from ``SYMBIOSIS_*``)."""

import faust

from streams.app import create_app
from symbiosis.logs import configure_logging
from symbiosis.settings import get_settings

if __name__ == "__main__":
    configure_logging()
    app = create_app(get_settings())
    faust.Worker(app, loglevel="WARNING", redirect_stdouts=False).execute_from_commandline()
