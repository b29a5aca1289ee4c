package com.careplus.logs;

/**
 * UTF-8 validation (fast for ASCII) and repair of invalid input: each maximal subpart of an
 * ill-formed sequence becomes one U+FFFD, as the Unicode standard recommends (and as
 * Python's {@code bytes.decode("utf-8", "replace")} does).
 */
final class Utf8 {
    private static final byte[] REPLACEMENT = {(byte) 0xEF, (byte) 0xBF, (byte) 0xBD};

    private Utf8() {
    }

    /** Whether {@code b[from, to)} is well-formed UTF-8 (no overlongs, no surrogates). */
    static boolean isValid(byte[] b, int from, int to) {
        int i = Bytes.nonAscii(b, from, to);
        while (i < to) {
            if (b[i] >= 0) {
                i = Bytes.nonAscii(b, i, to);
                continue;
            }
            int n = sequence(b, i, to);
            if (n <= 0) {
                return false;
            }
            i += n;
        }
        return true;
    }

    /** The bytes with every ill-formed subpart replaced by U+FFFD (EF BF BD). */
    static byte[] repair(byte[] b, int from, int to) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(to - from + 16);
        int i = from;
        while (i < to) {
            if (b[i] >= 0) {
                out.write(b[i]);
                i++;
                continue;
            }
            int n = sequence(b, i, to);
            if (n > 0) {
                out.write(b, i, n);
                i += n;
            } else {
                out.write(REPLACEMENT, 0, REPLACEMENT.length);
                i += -n;
            }
        }
        return out.toByteArray();
    }

    /**
     * Length of the well-formed sequence starting with the non-ASCII byte at {@code i}, or
     * minus the length of its maximal ill-formed subpart (at least 1).
     */
    private static int sequence(byte[] b, int i, int to) {
        int c = b[i] & 0xFF;
        int need;
        int lo = 0x80;
        int hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0) {
                lo = 0xA0;
            } else if (c == 0xED) {
                hi = 0x9F;
            }
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0) {
                lo = 0x90;
            } else if (c == 0xF4) {
                hi = 0x8F;
            }
        } else {
            return -1;
        }
        for (int k = 1; k <= need; k++) {
            if (i + k >= to) {
                return -k;
            }
            int d = b[i + k] & 0xFF;
            if (k == 1 ? d < lo || d > hi : (d & 0xC0) != 0x80) {
                return -k;
            }
        }
        return need + 1;
    }
}
