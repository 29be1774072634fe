"""Mail catcher for the Callback Sandbox: SMTP in, SQLite store, Mailpit's API v1 and a web UI.

Run it with ``python -m mailcatcher --help``.
"""

__version__ = "0.1.0"
