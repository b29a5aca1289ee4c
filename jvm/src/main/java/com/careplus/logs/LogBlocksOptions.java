package com.careplus.logs;

import java.io.IOException;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;

/** Parsed options of one read. */
final class LogBlocksOptions implements Serializable {
    private static final long serialVersionUID = 1L;

    static final int DEFAULT_MAX_BLOCK_BYTES = 65536;

    final String[] paths;
    /** Split size of plain files; 0 = derive it from Spark's settings. */
    final long maxSplitBytes;
    final int maxBlockBytes;
    /** Hadoop settings given as options. */
    final Map<String, String> hadoop;
    /** Key under which the tasks report blocks per file ({@link BlockCounts}), or null. */
    final String countsKey;

    private LogBlocksOptions(String[] paths, long maxSplitBytes, int maxBlockBytes, Map<String, String> hadoop, String countsKey) {
        this.paths = paths;
        this.maxSplitBytes = maxSplitBytes;
        this.maxBlockBytes = maxBlockBytes;
        this.hadoop = hadoop;
        this.countsKey = countsKey;
    }

    static LogBlocksOptions parse(Map<String, String> properties) {
        String json = null;
        String single = null;
        long maxSplit = 0;
        int maxBlock = DEFAULT_MAX_BLOCK_BYTES;
        String countsKey = null;
        Map<String, String> hadoop = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : properties.entrySet()) {
            String key = e.getKey();
            String value = e.getValue();
            switch (key.toLowerCase(Locale.ROOT)) {
                case "paths":
                    json = value;
                    break;
                case "path":
                    single = value;
                    break;
                case "maxsplitbytes":
                    maxSplit = positive(key, value);
                    break;
                case "countskey":
                    if (value == null || value.isEmpty()) {
                        throw new IllegalArgumentException("option " + key + " must not be empty");
                    }
                    countsKey = value;
                    break;
                case "maxblockbytes":
                    long m = positive(key, value);
                    if (m > Integer.MAX_VALUE / 2) {
                        throw new IllegalArgumentException("option " + key + " must be at most " + Integer.MAX_VALUE / 2 + ", found " + value);
                    }
                    maxBlock = (int) m;
                    break;
                default:
                    if (key.startsWith("spark.hadoop.")) {
                        hadoop.put(key.substring("spark.hadoop.".length()), value);
                    } else if (key.startsWith("fs.")) {
                        hadoop.put(key, value);
                    }
            }
        }
        String[] paths;
        if (json != null) {
            try {
                paths = new ObjectMapper().readValue(json, String[].class);
            } catch (IOException ex) {
                throw new IllegalArgumentException("option paths must be a JSON array of strings, found " + json, ex);
            }
            if (single != null) {
                String[] more = new String[paths.length + 1];
                System.arraycopy(paths, 0, more, 0, paths.length);
                more[paths.length] = single;
                paths = more;
            }
        } else if (single != null) {
            paths = new String[] {single};
        } else {
            paths = new String[0];
        }
        for (String p : paths) {
            if (p == null || p.isEmpty()) {
                throw new IllegalArgumentException("empty path in option paths");
            }
        }
        return new LogBlocksOptions(paths, maxSplit, maxBlock, hadoop, countsKey);
    }

    private static long positive(String key, String value) {
        long v;
        try {
            v = Long.parseLong(value.trim());
        } catch (NumberFormatException ex) {
            throw new IllegalArgumentException("option " + key + " must be a positive integer, found " + value, ex);
        }
        if (v <= 0) {
            throw new IllegalArgumentException("option " + key + " must be a positive integer, found " + value);
        }
        return v;
    }
}
