"""``python -m delivery``: deliver alerts to webhooks until SIGTERM."""

from delivery.process import main
from runtime.logs import configure_logging
from runtime.settings import get_settings

if __name__ == "__main__":
    configure_logging()
    main(get_settings())
