package com.careplus.logs;

import java.io.Serializable;

/** A byte range of one file (the whole stream for a compressed file). */
final class FileChunk implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Fully qualified path, as Hadoop reports it. */
    final String path;
    final long start;
    final long length;
    /** Read through a Hadoop codec from offset 0 to the end (never split). */
    final boolean compressed;

    FileChunk(String path, long start, long length, boolean compressed) {
        this.path = path;
        this.start = start;
        this.length = length;
        this.compressed = compressed;
    }

    @Override
    public String toString() {
        return path + (compressed ? " (compressed)" : " [" + start + ", " + (start + length) + ")");
    }
}
