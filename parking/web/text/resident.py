"""Labels of the resident pages: ``key: (中文, English)``."""

TEXT: dict[str, tuple[str, str]] = {}
