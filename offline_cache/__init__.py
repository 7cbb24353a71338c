"""The durable local store: SQLite schema, migrations and repositories. The only place with SQL.

Qt-free. It imports nothing from ``counter_client`` except ``counter_client.domain``, the shared
base of plain value types (see ``offline_cache/db.py`` for the connection rules).
"""
