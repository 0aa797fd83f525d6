"""``python -m sinks``: run the PostgreSQL sink until SIGTERM."""

from runtime.logs import configure_logging
from runtime.settings import get_settings
from sinks.consumer import run_sink

if __name__ == "__main__":
    configure_logging()
    run_sink(get_settings())
