package com.careplus.logs;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.spark.SparkContext;
import org.apache.spark.util.CollectionAccumulator;

/**
 * Blocks read per file, counted by the tasks of a read and gathered on the driver through a
 * Spark accumulator: a caller that writes the rows somewhere gets the per-file counts
 * without reading the written rows again.
 *
 * <p>A read with the option {@code countsKey} reports, for every chunk it reads to its end,
 * one entry {@code blocks \t malformed \t path} ({@code malformed} is -1 when
 * {@code parse_error} was not among the requested columns, as nothing is parsed then).
 * Spark merges the updates of successful task attempts only, once per task of a result
 * stage; a plan that is executed twice (or a stage that is recomputed) counts twice, so a
 * caller should check the total against what was written (for a Delta write, the commit's
 * {@code numOutputRows}) and count from the data when they differ.
 */
public final class BlockCounts {
    private static final Map<String, CollectionAccumulator<String>> BY_KEY = new ConcurrentHashMap<>();

    private BlockCounts() {
    }

    /** The accumulator of a key, created and registered on the driver at the first call. */
    static CollectionAccumulator<String> accumulator(SparkContext sc, String key) {
        return BY_KEY.computeIfAbsent(key, k -> {
            CollectionAccumulator<String> acc = new CollectionAccumulator<>();
            sc.register(acc, "careplus-logs block counts " + k);
            return acc;
        });
    }

    /** The line of one chunk's counts, as added to the accumulator. */
    static String entry(String path, long blocks, long malformed) {
        return blocks + "\t" + malformed + "\t" + path;
    }

    /**
     * The counts of a key summed per file, one line {@code blocks \t malformed \t path} per
     * file that gave at least one chunk, and forgets the key; null when no read used it.
     * {@code malformed} is -1 when any chunk of the file did not parse.
     */
    public static String take(String key) {
        CollectionAccumulator<String> acc = BY_KEY.remove(key);
        if (acc == null) {
            return null;
        }
        Map<String, long[]> perFile = new LinkedHashMap<>();
        List<String> entries = acc.value();
        for (String e : entries) {
            int a = e.indexOf('\t');
            int b = e.indexOf('\t', a + 1);
            long blocks = Long.parseLong(e.substring(0, a));
            long malformed = Long.parseLong(e.substring(a + 1, b));
            long[] sum = perFile.computeIfAbsent(e.substring(b + 1), p -> new long[2]);
            sum[0] += blocks;
            sum[1] = sum[1] < 0 || malformed < 0 ? -1 : sum[1] + malformed;
        }
        StringBuilder out = new StringBuilder();
        for (Map.Entry<String, long[]> f : perFile.entrySet()) {
            out.append(f.getValue()[0]).append('\t').append(f.getValue()[1]).append('\t').append(f.getKey()).append('\n');
        }
        return out.toString();
    }
}
