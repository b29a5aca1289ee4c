package com.careplus.logs;

import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** The fixed output schema of the log block source. */
public final class LogSchema {
    /** Ordinal of {@code source_file}. */
    public static final int SOURCE_FILE = 0;
    /** Ordinal of {@code offset}. */
    public static final int OFFSET = 1;
    /** Ordinal of {@code raw}. */
    public static final int RAW = 2;
    /** Ordinal of the first parsed field ({@code ts}); parsed field {@code i} is at {@code FIRST_FIELD + i}. */
    public static final int FIRST_FIELD = 3;
    /** Ordinal of {@code parse_error}. */
    public static final int PARSE_ERROR = FIRST_FIELD + BlockParser.FIELD_COUNT;

    /** Column names, in schema order. */
    public static final String[] NAMES = {
        "source_file", "offset", "raw",
        "ts", "level", "service", "ticket_id", "session_id",
        "ip", "response_time", "cpu", "event_type", "error",
        "user_agent", "message", "debug", "trace_id",
        "parse_error",
    };

    /** The schema: every column is nullable except the lineage columns. */
    public static final StructType SCHEMA = build();

    private LogSchema() {
    }

    private static StructType build() {
        StructField[] fields = new StructField[NAMES.length];
        for (int i = 0; i < NAMES.length; i++) {
            if (i == OFFSET) {
                fields[i] = DataTypes.createStructField(NAMES[i], DataTypes.LongType, false);
            } else {
                boolean nullable = i != SOURCE_FILE && i != RAW;
                fields[i] = DataTypes.createStructField(NAMES[i], DataTypes.StringType, nullable);
            }
        }
        return DataTypes.createStructType(fields);
    }

    /** The ordinal of a column name in {@link #SCHEMA}, or -1. */
    public static int ordinal(String name) {
        for (int i = 0; i < NAMES.length; i++) {
            if (NAMES[i].equalsIgnoreCase(name)) {
                return i;
            }
        }
        return -1;
    }
}
