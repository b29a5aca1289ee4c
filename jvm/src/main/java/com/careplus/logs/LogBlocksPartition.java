package com.careplus.logs;

import org.apache.spark.sql.connector.read.InputPartition;

/** One task's work: file chunks read one after the other. */
final class LogBlocksPartition implements InputPartition {
    private static final long serialVersionUID = 1L;

    final FileChunk[] chunks;

    LogBlocksPartition(FileChunk[] chunks) {
        this.chunks = chunks;
    }
}
