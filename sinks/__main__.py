"""``python -m sinks``: run the PostgreSQL sink until SIGTERM."""

from sinks.consumer import run_sink
from symbiosis.logs import configure_logging
from symbiosis.settings import get_settings

if __name__ == "__main__":
    configure_logging()
    run_sink(get_settings())
