"""Labels of the admin pages: ``key: (中文, English)``."""

TEXT: dict[str, tuple[str, str]] = {}
