package com.careplus.logs;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.compress.CodecPool;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;
import org.apache.hadoop.io.compress.Decompressor;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.connector.read.PartitionReader;
import org.apache.spark.unsafe.types.UTF8String;
import org.apache.spark.util.CollectionAccumulator;

/**
 * Reads the chunks of one partition and turns each block into a row. Only the requested
 * columns are built; nothing is parsed when no parsed column (nor {@code parse_error}) is
 * requested. Each block's bytes are copied once; every string of the row is a slice of
 * that copy.
 */
final class LogBlocksReader implements PartitionReader<InternalRow> {
    private final Configuration conf;
    private final FileChunk[] chunks;
    private final int[] ordinals;
    private final int maxBlockBytes;
    private final boolean needBytes;
    private final boolean needParse;
    private final BlockParser parser = new BlockParser();
    private final Object[] values;
    private final GenericInternalRow row;
    private CompressionCodecFactory codecs;
    private final CollectionAccumulator<String> counts;
    private long chunkBlocks;
    private long chunkMalformed;

    private int chunkIndex = -1;
    private BlockScanner scanner;
    private Decompressor decompressor;
    private CompressionCodec codec;
    private UTF8String file;

    LogBlocksReader(Configuration conf, FileChunk[] chunks, int[] ordinals, int maxBlockBytes,
            CollectionAccumulator<String> counts) {
        this.conf = conf;
        this.counts = counts;
        this.chunks = chunks;
        this.ordinals = ordinals;
        this.maxBlockBytes = maxBlockBytes;
        boolean bytes = false;
        boolean parse = false;
        for (int o : ordinals) {
            if (o >= LogSchema.RAW) {
                bytes = true;
            }
            if (o >= LogSchema.FIRST_FIELD) {
                parse = true;
            }
        }
        this.needBytes = bytes;
        this.needParse = parse;
        this.values = new Object[ordinals.length];
        this.row = new GenericInternalRow(values);
    }

    @Override
    public boolean next() throws IOException {
        while (true) {
            if (scanner == null) {
                if (++chunkIndex >= chunks.length) {
                    return false;
                }
                open(chunks[chunkIndex]);
            }
            if (scanner.next()) {
                fill();
                return true;
            }
            if (counts != null) {
                // only a chunk read to its end is reported: a task stopped early (a limit)
                // leaves its counts out, and the caller's check against the rows written fails
                counts.add(BlockCounts.entry(chunks[chunkIndex].path, chunkBlocks, needParse ? chunkMalformed : -1));
            }
            closeChunk();
        }
    }

    @Override
    public InternalRow get() {
        return row;
    }

    private void open(FileChunk chunk) throws IOException {
        Path path = new Path(chunk.path);
        FileSystem fs = path.getFileSystem(conf);
        file = UTF8String.fromString(chunk.path);
        chunkBlocks = 0;
        chunkMalformed = 0;
        FSDataInputStream raw = fs.open(path);
        try {
            if (chunk.compressed) {
                if (codecs == null) {
                    codecs = new CompressionCodecFactory(conf);
                }
                codec = codecs.getCodec(path);
                BlockScanner.GuardedStream guard = new BlockScanner.GuardedStream(raw);
                decompressor = CodecPool.getDecompressor(codec);
                InputStream in;
                try {
                    in = codec.createInputStream(guard, decompressor);
                } catch (IOException | RuntimeException e) {
                    if (guard.failed) {
                        throw e;
                    }
                    in = new FailingStream(guard, e);
                }
                scanner = new BlockScanner(in, guard, 0, Long.MAX_VALUE, maxBlockBytes);
            } else {
                if (chunk.start > 0) {
                    raw.seek(chunk.start - 1);
                }
                scanner = new BlockScanner(raw, null, chunk.start, chunk.start + chunk.length, maxBlockBytes);
            }
        } catch (IOException | RuntimeException e) {
            raw.close();
            releaseDecompressor();
            throw e;
        }
    }

    private void fill() {
        BlockScanner s = scanner;
        byte[] bytes = null;
        String reason = null;
        if (needBytes) {
            bytes = Arrays.copyOfRange(s.data, s.dataFrom, s.dataFrom + s.dataLen);
            if (!Utf8.isValid(bytes, 0, bytes.length)) {
                bytes = Utf8.repair(bytes, 0, bytes.length);
            }
            if (needParse) {
                if (s.broken) {
                    reason = s.failure;
                } else if (s.size > maxBlockBytes) {
                    reason = "oversized: " + s.size + " bytes > " + maxBlockBytes;
                } else {
                    reason = parser.parse(bytes, 0, bytes.length);
                }
                if (reason != null) {
                    chunkMalformed++;
                }
            }
        }
        chunkBlocks++;
        for (int i = 0; i < ordinals.length; i++) {
            int o = ordinals[i];
            Object v;
            if (o == LogSchema.SOURCE_FILE) {
                v = file;
            } else if (o == LogSchema.OFFSET) {
                v = s.offset;
            } else if (o == LogSchema.RAW) {
                v = UTF8String.fromBytes(bytes, 0, bytes.length);
            } else if (o == LogSchema.PARSE_ERROR) {
                v = reason == null ? null : UTF8String.fromString(reason);
            } else if (reason != null) {
                v = null;
            } else {
                int f = o - LogSchema.FIRST_FIELD;
                v = UTF8String.fromBytes(bytes, parser.start[f], parser.end[f] - parser.start[f]);
            }
            values[i] = v;
        }
    }

    private void closeChunk() throws IOException {
        BlockScanner s = scanner;
        scanner = null;
        try {
            s.close();
        } finally {
            releaseDecompressor();
        }
    }

    private void releaseDecompressor() {
        if (decompressor != null) {
            CodecPool.returnDecompressor(decompressor);
            decompressor = null;
        }
    }

    @Override
    public void close() throws IOException {
        if (scanner != null) {
            closeChunk();
        }
    }

    /** Stands in for a decompressing stream whose creation failed on corrupt input. */
    private static final class FailingStream extends InputStream {
        private final InputStream raw;
        private final Exception cause;

        FailingStream(InputStream raw, Exception cause) {
            this.raw = raw;
            this.cause = cause;
        }

        @Override
        public int read() throws IOException {
            throw new IOException(cause.toString(), cause);
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            throw new IOException(cause.toString(), cause);
        }

        @Override
        public void close() throws IOException {
            raw.close();
        }
    }
}
