"""The Flask front end (presentation only: every answer comes from ``search.engine``)."""
