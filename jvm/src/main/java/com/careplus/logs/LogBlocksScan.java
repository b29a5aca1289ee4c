package com.careplus.logs;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.compress.CompressionCodecFactory;
import org.apache.spark.SerializableWritable;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.network.util.JavaUtils;
import org.apache.spark.sql.RuntimeConfig;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.connector.read.Batch;
import org.apache.spark.sql.connector.read.InputPartition;
import org.apache.spark.sql.connector.read.PartitionReaderFactory;
import org.apache.spark.sql.connector.read.Scan;
import org.apache.spark.sql.connector.read.ScanBuilder;
import org.apache.spark.sql.connector.read.SupportsPushDownRequiredColumns;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.CollectionAccumulator;

import scala.Tuple2;

/** Scan of the log files: column pruning, split planning and the reader factory. */
final class LogBlocksScan implements ScanBuilder, SupportsPushDownRequiredColumns, Scan, Batch {
    private final LogBlocksOptions options;
    private StructType required = LogSchema.SCHEMA;
    private InputPartition[] partitions;
    private Configuration hadoopConf;

    LogBlocksScan(LogBlocksOptions options) {
        this.options = options;
    }

    @Override
    public void pruneColumns(StructType requiredSchema) {
        required = requiredSchema;
    }

    @Override
    public Scan build() {
        return this;
    }

    @Override
    public StructType readSchema() {
        return required;
    }

    @Override
    public String description() {
        return "careplus-logs " + options.paths.length + " file(s), columns " + Arrays.toString(required.fieldNames());
    }

    @Override
    public Batch toBatch() {
        return this;
    }

    @Override
    public synchronized InputPartition[] planInputPartitions() {
        if (partitions == null) {
            SparkSession spark = SparkSession.active();
            try {
                partitions = plan(hadoopConf(), spark.conf(), spark.sparkContext().defaultParallelism());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list the log files: " + e.getMessage(), e);
            }
        }
        return partitions;
    }

    @Override
    public PartitionReaderFactory createReaderFactory() {
        StructField[] fields = required.fields();
        int[] ordinals = new int[fields.length];
        for (int i = 0; i < fields.length; i++) {
            ordinals[i] = LogSchema.ordinal(fields[i].name());
            if (ordinals[i] < 0) {
                throw new IllegalArgumentException("unknown column " + fields[i].name());
            }
        }
        SparkContext sc = SparkSession.active().sparkContext();
        Broadcast<SerializableWritable<Configuration>> conf =
                JavaSparkContext.fromSparkContext(sc).broadcast(new SerializableWritable<Configuration>(hadoopConf()));
        CollectionAccumulator<String> counts =
                options.countsKey == null ? null : BlockCounts.accumulator(sc, options.countsKey);
        return new LogBlocksReaderFactory(conf, ordinals, options.maxBlockBytes, counts);
    }

    /** The Hadoop settings of the read: the context's, the session's SQL settings, the options. */
    private synchronized Configuration hadoopConf() {
        if (hadoopConf == null) {
            SparkSession spark = SparkSession.active();
            Configuration conf = new Configuration(spark.sparkContext().hadoopConfiguration());
            // as Spark's own file sources do (SessionState.newHadoopConf): session settings
            // such as spark.conf.set("fs.s3a.endpoint", ...) apply to this read
            scala.collection.Iterator<Tuple2<String, String>> it = spark.conf().getAll().iterator();
            while (it.hasNext()) {
                Tuple2<String, String> kv = it.next();
                if (kv._2() != null) {
                    conf.set(kv._1(), kv._2());
                }
            }
            for (Map.Entry<String, String> e : options.hadoop.entrySet()) {
                conf.set(e.getKey(), e.getValue());
            }
            hadoopConf = conf;
        }
        return hadoopConf;
    }

    private InputPartition[] plan(Configuration conf, RuntimeConfig sql, int parallelism) throws IOException {
        long openCost = JavaUtils.byteStringAsBytes(sql.get("spark.sql.files.openCostInBytes", "4MB"));
        CompressionCodecFactory codecs = new CompressionCodecFactory(conf);
        List<FileStatus> files = new ArrayList<>();
        List<Boolean> compressed = new ArrayList<>();
        long splittableBytes = 0;
        long totalCost = 0;
        for (String p : options.paths) {
            Path path = new Path(p);
            FileSystem fs = path.getFileSystem(conf);
            FileStatus st;
            try {
                st = fs.getFileStatus(path);
            } catch (FileNotFoundException e) {
                throw new FileNotFoundException("log file not found: " + p);
            }
            if (st.isDirectory()) {
                throw new IllegalArgumentException("expected log files, found a directory: " + st.getPath());
            }
            boolean isCompressed = codecs.getCodec(st.getPath()) != null;
            files.add(st);
            compressed.add(isCompressed);
            if (!isCompressed) {
                splittableBytes += st.getLen();
            }
            totalCost += st.getLen() + openCost;
        }
        long maxSplit = options.maxSplitBytes;
        if (maxSplit <= 0) {
            maxSplit = defaultSplitBytes(sql, openCost, parallelism, totalCost, splittableBytes);
        }

        List<FileChunk> chunks = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            FileStatus st = files.get(i);
            long len = st.getLen();
            String path = st.getPath().toString();
            if (len == 0) {
                continue; // an empty file holds no block
            }
            if (compressed.get(i)) {
                chunks.add(new FileChunk(path, 0, len, true));
            } else {
                for (long off = 0; off < len; off += maxSplit) {
                    chunks.add(new FileChunk(path, off, Math.min(maxSplit, len - off), false));
                }
            }
        }
        // Spark's FilePartition packing: largest first, next fit, each file costs openCost more
        chunks.sort((a, b) -> Long.compare(b.length, a.length));
        List<InputPartition> out = new ArrayList<>();
        List<FileChunk> current = new ArrayList<>();
        long currentSize = 0;
        for (FileChunk c : chunks) {
            if (!current.isEmpty() && currentSize + c.length > maxSplit) {
                out.add(new LogBlocksPartition(current.toArray(new FileChunk[0])));
                current.clear();
                currentSize = 0;
            }
            current.add(c);
            currentSize += c.length + openCost;
        }
        if (!current.isEmpty()) {
            out.add(new LogBlocksPartition(current.toArray(new FileChunk[0])));
        }
        return out.toArray(new InputPartition[0]);
    }

    /**
     * Spark's split size ({@code min(maxPartitionBytes, max(openCost, bytes per core))}),
     * then evened out so that the splits of the plain files fill every core in the last wave.
     */
    static long defaultSplitBytes(RuntimeConfig sql, long openCost, int parallelism, long totalCost, long splittableBytes) {
        long maxPartition = JavaUtils.byteStringAsBytes(sql.get("spark.sql.files.maxPartitionBytes", "128MB"));
        int cores = Math.max(1, parallelism);
        long perCore = totalCost / cores;
        long split = Math.max(1, Math.min(maxPartition, Math.max(openCost, perCore)));
        if (splittableBytes > split) {
            long n = (splittableBytes + split - 1) / split;
            n = ((n + cores - 1) / cores) * cores;
            split = Math.max(1, (splittableBytes + n - 1) / n);
        }
        return split;
    }
}
