"""Labels of the manager pages: ``key: (中文, English)``."""

TEXT: dict[str, tuple[str, str]] = {}
