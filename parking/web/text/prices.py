"""Labels of the price, advice and report pages: ``key: (中文, English)``."""

TEXT: dict[str, tuple[str, str]] = {}
