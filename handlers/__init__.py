"""Feature handlers: one module or package per feature, all listed in :mod:`handlers.features`."""
