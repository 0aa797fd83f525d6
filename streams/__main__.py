"""``python -m streams PARK``: run the stream worker for a park file until SIGTERM."""

import sys

import faust

from domain.park import load_park
from streams.app import create_app
from symbiosis.logs import configure_logging
from symbiosis.settings import get_settings

if __name__ == "__main__":
    configure_logging()
    settings = get_settings()
    app = create_app(settings, load_park(__import__("pathlib").Path(sys.argv[1])))
    faust.Worker(app, loglevel="WARNING", redirect_stdouts=False).execute_from_commandline()
