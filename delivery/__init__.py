"""Alert delivery to partners' webhooks: a stage of its own, beside the sink.

Reads the alerts topic in its own consumer group and POSTs each alert, as the need's company
may see it, to that need's webhook: signed with the subscription's own key, retried with
backoff, dead-lettered when it fails for good, one queue per subscriber. Run it with
``python -m delivery``.
"""
