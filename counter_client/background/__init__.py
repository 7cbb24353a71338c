"""QtCore-only machinery between the widgets and the Qt-free services: the task runner
(``tasks``), the connection monitor and the catalogue refresher."""
