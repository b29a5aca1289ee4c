package com.careplus.logs;

import java.util.Map;

import org.apache.spark.sql.connector.catalog.Table;
import org.apache.spark.sql.connector.catalog.TableProvider;
import org.apache.spark.sql.connector.expressions.Transform;
import org.apache.spark.sql.sources.DataSourceRegister;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;

/**
 * Spark data source ({@code format("careplus-logs")} or this class name) reading raw log
 * files as parsed 6-line blocks; see {@link LogSchema} for the columns.
 *
 * <p>Options:
 * <ul>
 *   <li>{@code paths}: a JSON array of file paths (or {@code path}: one file); any Hadoop
 *       file system (local, {@code file:}, {@code s3a:}); {@code .gz} and other Hadoop codecs
 *       are decompressed (such files are never split);</li>
 *   <li>{@code maxSplitBytes}: split size of plain files (default: Spark's file split size,
 *       from {@code spark.sql.files.maxPartitionBytes});</li>
 *   <li>{@code maxBlockBytes}: larger blocks are returned as {@code oversized} (default 65536);</li>
 *   <li>{@code fs.*} / {@code spark.hadoop.*}: Hadoop settings for this read.</li>
 * </ul>
 */
public final class LogBlocksSource implements TableProvider, DataSourceRegister {
    /** Short name for {@code spark.read.format(...)}. */
    public static final String SHORT_NAME = "careplus-logs";

    @Override
    public String shortName() {
        return SHORT_NAME;
    }

    @Override
    public StructType inferSchema(CaseInsensitiveStringMap options) {
        return LogSchema.SCHEMA;
    }

    @Override
    public Table getTable(StructType schema, Transform[] partitioning, Map<String, String> properties) {
        if (schema != null && !schema.equals(LogSchema.SCHEMA)) {
            throw new IllegalArgumentException("the careplus-logs source has a fixed schema: " + LogSchema.SCHEMA.simpleString());
        }
        return new LogBlocksTable(LogBlocksOptions.parse(properties));
    }
}
