"""The web pages' labels, one module per area (see ``parking.web.i18n``)."""
