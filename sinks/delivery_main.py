"""``python -m sinks.delivery_main``: deliver alerts to webhooks until SIGTERM."""

from sinks.delivery import main
from symbiosis.logs import configure_logging
from symbiosis.settings import get_settings

if __name__ == "__main__":
    configure_logging()
    main(get_settings())
