package com.careplus.logs;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SerializableWritable;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.connector.read.InputPartition;
import org.apache.spark.sql.connector.read.PartitionReader;
import org.apache.spark.sql.connector.read.PartitionReaderFactory;
import org.apache.spark.util.CollectionAccumulator;

/** Serializable factory shipped to the executors. */
final class LogBlocksReaderFactory implements PartitionReaderFactory {
    private static final long serialVersionUID = 1L;

    private final Broadcast<SerializableWritable<Configuration>> conf;
    private final int[] ordinals;
    private final int maxBlockBytes;
    /** Where the tasks report blocks per file, or null ({@link BlockCounts}). */
    private final CollectionAccumulator<String> counts;

    LogBlocksReaderFactory(Broadcast<SerializableWritable<Configuration>> conf, int[] ordinals, int maxBlockBytes,
            CollectionAccumulator<String> counts) {
        this.conf = conf;
        this.ordinals = ordinals;
        this.maxBlockBytes = maxBlockBytes;
        this.counts = counts;
    }

    @Override
    public PartitionReader<InternalRow> createReader(InputPartition partition) {
        return new LogBlocksReader(conf.value().value(), ((LogBlocksPartition) partition).chunks, ordinals, maxBlockBytes, counts);
    }
}
