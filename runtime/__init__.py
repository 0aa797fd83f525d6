"""What every process needs at run time: settings, logging, metrics, waiting.

Sits above :mod:`schemas` and :mod:`domain` and below :mod:`topics` and the stages. Knows nothing
of the local stack (that is :mod:`symbiosis`, the top layer).
"""
