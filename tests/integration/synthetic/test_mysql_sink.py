"""The MySQL ticket sink against the test MariaDB: rows, 4-byte text and the table's DDL."""

from __future__ import annotations

from datetime import date, datetime

from careplus_spark.synthetic import GenerateSpec, GenerateStats, generate, parse_mysql_url, sink_for_url


def test_mysql_sink_round_trip(mysql_db: object) -> None:
    import pymysql

    url = mysql_db.jdbc_url  # type: ignore[attr-defined]
    user = mysql_db.user  # type: ignore[attr-defined]
    password = mysql_db.password  # type: ignore[attr-defined]
    table = "support_tickets_synthetic_test"
    spec = GenerateSpec(days=2, tickets_per_day=30, non_ascii=0.5, delete_per_day=2)
    with sink_for_url(url, user, password, table) as sink:
        stats = generate(spec, sink, None)
        stats = GenerateStats.of(stats.days + generate(spec, sink, None, first_day=2).days)
    host, port, database = parse_mysql_url(url)
    conn = pymysql.connect(
        host=host, port=port, user=user, password=password, database=database, charset="utf8mb4"
    )
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*), MAX(updated_at), COUNT(resolved_at) FROM {table}")
            count, newest, resolved = cursor.fetchall()[0]
            cursor.execute(f"SELECT agent_feedback FROM {table}")
            feedback = [r[0] for r in cursor.fetchall()]
            cursor.execute(f"SHOW CREATE TABLE {table}")
            ddl = cursor.fetchall()[0][1]
            cursor.execute(f"DROP TABLE {table}")
    finally:
        conn.close()
    assert count == stats.tickets_inserted - stats.tickets_deleted == 4 * 30 - 3 * 2
    assert stats.tickets_updated > 0 and resolved > 0
    assert isinstance(newest, datetime) and newest.date() == date(2025, 7, 4)
    assert any(ord(ch) > 0xFFFF for text in feedback for ch in text), "4-byte emoji lost"
    assert "utf8mb4" in ddl and "datetime(6)" in ddl.lower() and "`IssUeCat`" in ddl
