"""What the benches share: a MariaDB database dropped and created again empty, so every run starts alike."""

import re
from urllib.parse import unquote, urlsplit


def database_name(url: str) -> str:
    """The database a ``mysql://`` URL names, which must be a plain name (it is written into SQL)."""
    name = urlsplit(url).path.lstrip("/")
    if not re.fullmatch(r"\w+", name):
        raise SystemExit(f"the bench's database URL must name a plain database: {name!r}")
    return name


def recreate_database(url: str) -> None:
    """Drop the database the ``mysql://`` URL names and create it again, empty."""
    import MySQLdb

    parts, name = urlsplit(url), database_name(url)
    server = MySQLdb.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
    )
    with server.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    server.close()
