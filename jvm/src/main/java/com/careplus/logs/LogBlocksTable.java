package com.careplus.logs;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

import org.apache.spark.sql.connector.catalog.SupportsRead;
import org.apache.spark.sql.connector.catalog.TableCapability;
import org.apache.spark.sql.connector.read.ScanBuilder;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;

/** The set of files of one read. */
final class LogBlocksTable implements SupportsRead {
    private final LogBlocksOptions options;

    LogBlocksTable(LogBlocksOptions options) {
        this.options = options;
    }

    @Override
    public String name() {
        return "careplus-logs(" + options.paths.length + " files)";
    }

    @Override
    @SuppressWarnings("deprecation")
    public StructType schema() {
        return LogSchema.SCHEMA;
    }

    @Override
    public Set<TableCapability> capabilities() {
        return Collections.unmodifiableSet(EnumSet.of(TableCapability.BATCH_READ));
    }

    @Override
    public ScanBuilder newScanBuilder(CaseInsensitiveStringMap ignored) {
        return new LogBlocksScan(options);
    }
}
