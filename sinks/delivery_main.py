"""``python -m sinks.delivery_main``: deliver alerts to webhooks until SIGTERM."""

from runtime.logs import configure_logging
from runtime.settings import get_settings
from sinks.delivery import main

if __name__ == "__main__":
    configure_logging()
    main(get_settings())
