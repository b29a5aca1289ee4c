package com.careplus.logs;

import java.nio.ByteOrder;

import org.apache.spark.unsafe.Platform;

/** Word-at-a-time byte scans (8 bytes per step on little-endian machines). */
final class Bytes {
    private static final boolean SWAR = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGHS = 0x8080808080808080L;
    private static final long NEWLINES = 0x0A0A0A0A0A0A0A0AL;

    private Bytes() {
    }

    /** Index of the first LF in {@code b[from, to)}, or {@code to}. */
    static int newline(byte[] b, int from, int to) {
        int i = from;
        if (SWAR) {
            while (i + 8 <= to) {
                long x = Platform.getLong(b, Platform.BYTE_ARRAY_OFFSET + i) ^ NEWLINES;
                long found = (x - ONES) & ~x & HIGHS;
                if (found != 0) {
                    return i + (Long.numberOfTrailingZeros(found) >>> 3);
                }
                i += 8;
            }
        }
        while (i < to && b[i] != '\n') {
            i++;
        }
        return i;
    }

    /** Index of the first byte >= 0x80 in {@code b[from, to)}, or {@code to}. */
    static int nonAscii(byte[] b, int from, int to) {
        int i = from;
        if (SWAR) {
            while (i + 8 <= to) {
                long high = Platform.getLong(b, Platform.BYTE_ARRAY_OFFSET + i) & HIGHS;
                if (high != 0) {
                    return i + (Long.numberOfTrailingZeros(high) >>> 3);
                }
                i += 8;
            }
        }
        while (i < to && b[i] >= 0) {
            i++;
        }
        return i;
    }
}
