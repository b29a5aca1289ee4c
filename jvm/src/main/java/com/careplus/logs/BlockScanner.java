package com.careplus.logs;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Cuts a byte stream into blocks separated by {@code ---} lines, for one split of a file.
 *
 * <p>Lines end with LF (a CR before it is part of the line and ignored by the checks). A
 * line is a <em>delimiter</em> when, without spaces, tabs and CRs around it, it is exactly
 * {@code ---}; it is <em>blank</em> when it holds nothing but spaces, tabs and CRs. A block
 * is the run of lines between two delimiter lines (or the file start / end) with its
 * leading and trailing blank lines removed; an all-blank block is no block. A UTF-8 BOM at
 * the start of the stream is skipped.
 *
 * <p>Split ownership: the first block of a file belongs to the split at offset 0; every
 * other block belongs to the split holding the first byte of the delimiter line before it.
 * A reader for {@code [start, end)} therefore starts at the first line beginning at or after
 * {@code start}, skips lines up to the first delimiter line, and reads block after block
 * (past {@code end} if needed) until a delimiter line begins at or after {@code end}. Each
 * block is read exactly once, whatever the split sizes.
 *
 * <p>Memory is bounded: a block longer than {@code maxBlock} bytes keeps only its first
 * {@code maxBlock} bytes (the rest is scanned, not kept) and is reported with its full size.
 */
final class BlockScanner implements AutoCloseable {
    static final int KIND_BLANK = 0;
    static final int KIND_DELIMITER = 1;
    static final int KIND_TEXT = 2;

    private static final int MODE_SKIP = 0;
    private static final int MODE_BLOCK = 1;
    private static final int MODE_DONE = 2;

    // States of the per-line automaton recognising blank and delimiter lines.
    private static final int LEAD = 0;
    private static final int DASH1 = 1;
    private static final int DASH2 = 2;
    private static final int DASH3 = 3;
    private static final int TRAIL = 4;
    private static final int OTHER = 5;

    private static final int DEFAULT_BUFFER = 1 << 20;

    private final InputStream in;
    private final GuardedStream guard;
    private final long ownEnd;
    private final int maxBlock;

    private byte[] buf;
    private int pos;
    private int lim;
    /** Stream position of {@code buf[0]}. */
    private long base;
    private boolean eof;

    private int mode;
    private long lineStartPos;
    private long lineEndPos;
    private int lineKind;

    private boolean haveContent;
    private long blockStart;
    private long contentEnd;
    /** First {@code maxBlock} bytes of a block that outgrew the retention limit. */
    private byte[] head;
    private boolean capped;

    /** Stream position of the current block's first byte. */
    long offset;
    /** Size in bytes of the current block (may exceed {@code dataLen} when oversized). */
    long size;
    /** Bytes of the current block: {@code data[dataFrom, dataFrom + dataLen)}; valid until the next call. */
    byte[] data;
    int dataFrom;
    int dataLen;
    /** Why the stream could not be decoded (corrupt compressed input), once that happened. */
    String failure;
    /** Whether the current block is the last one, cut short by {@link #failure}. */
    boolean broken;

    /**
     * @param in the stream positioned at {@code start - 1} when {@code start > 0}, else at 0
     * @param guard the raw (undecoded) stream under a decompressor, or null: errors of the
     *     raw stream propagate, errors of the decoder end the stream with {@link #failure}
     * @param start first byte of the split
     * @param end end (exclusive) of the split; {@code Long.MAX_VALUE} for the whole stream
     * @param maxBlock bytes kept per block
     */
    BlockScanner(InputStream in, GuardedStream guard, long start, long end, int maxBlock, int bufferSize)
            throws IOException {
        this.in = in;
        this.guard = guard;
        this.ownEnd = end;
        this.maxBlock = maxBlock;
        this.buf = new byte[Math.max(16, bufferSize)];
        if (start == 0) {
            base = 0;
            fill();
            if (lim >= 3 && (buf[0] & 0xFF) == 0xEF && (buf[1] & 0xFF) == 0xBB && (buf[2] & 0xFF) == 0xBF) {
                pos = 3;
            }
            startBlock();
        } else {
            base = start - 1;
            mode = MODE_SKIP;
            if (!fill()) {
                mode = MODE_DONE;
            } else if (buf[0] == '\n') {
                pos = 1;
            } else {
                skipPartialLine();
            }
        }
    }

    BlockScanner(InputStream in, GuardedStream guard, long start, long end, int maxBlock) throws IOException {
        this(in, guard, start, end, maxBlock, DEFAULT_BUFFER);
    }

    /** Advances to the next block; false when the split has no more. */
    boolean next() throws IOException {
        while (mode != MODE_DONE) {
            if (mode == MODE_SKIP && base + pos >= ownEnd) {
                mode = MODE_DONE;
                break;
            }
            if (!readLine()) {
                boolean inBlock = mode == MODE_BLOCK;
                mode = MODE_DONE;
                if (failure != null) {
                    emitFailure();
                    return true;
                }
                if (inBlock && haveContent) {
                    emit();
                    return true;
                }
                return false;
            }
            if (mode == MODE_SKIP) {
                if (lineKind == KIND_DELIMITER) {
                    startBlock();
                }
                continue;
            }
            switch (lineKind) {
                case KIND_TEXT:
                    if (!haveContent) {
                        haveContent = true;
                        blockStart = lineStartPos;
                    }
                    contentEnd = lineEndPos;
                    break;
                case KIND_BLANK:
                    if (!haveContent) {
                        uncap();
                    }
                    break;
                default: {
                    boolean had = haveContent;
                    if (had) {
                        emit();
                    }
                    if (lineStartPos >= ownEnd) {
                        mode = MODE_DONE;
                    } else {
                        startBlock();
                    }
                    if (had) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private void startBlock() {
        mode = MODE_BLOCK;
        haveContent = false;
        uncap();
    }

    private void uncap() {
        capped = false;
        head = null;
    }

    private void emit() {
        broken = false;
        offset = blockStart;
        size = contentEnd - blockStart;
        dataLen = (int) Math.min(size, maxBlock);
        if (capped) {
            data = head;
            dataFrom = 0;
        } else {
            data = buf;
            dataFrom = (int) (blockStart - base);
        }
        // data points into the buffer: it stays valid because the buffer is only compacted
        // by the next call to next()
    }

    private void emitFailure() {
        if (haveContent) {
            emit();
        } else {
            offset = base + pos;
            size = 0;
            data = buf;
            dataFrom = 0;
            dataLen = 0;
        }
        broken = true;
    }

    /** Reads one line; sets its start, end and kind. False at the end of the stream. */
    private boolean readLine() throws IOException {
        if (pos >= lim && !fill()) {
            return false;
        }
        lineStartPos = base + pos;
        int st = LEAD;
        while (true) {
            final byte[] b = buf;
            final int n = lim;
            int i = pos;
            while (st != OTHER && i < n) {
                byte c = b[i];
                if (c == '\n') {
                    break;
                }
                st = step(st, c);
                i++;
            }
            if (st == OTHER) {
                i = Bytes.newline(b, i, n);
            }
            if (i < n) {
                pos = i + 1;
                lineEndPos = base + pos;
                lineKind = kind(st);
                return true;
            }
            pos = n;
            if (!fill()) {
                lineEndPos = base + pos;
                lineKind = kind(st);
                return true;
            }
        }
    }

    private void skipPartialLine() throws IOException {
        while (true) {
            final int n = lim;
            int i = Bytes.newline(buf, pos, n);
            if (i < n) {
                pos = i + 1;
                return;
            }
            pos = n;
            if (!fill()) {
                mode = MODE_DONE;
                return;
            }
        }
    }

    private static int step(int st, byte c) {
        boolean space = c == ' ' || c == '\t' || c == '\r';
        switch (st) {
            case LEAD:
                return space ? LEAD : c == '-' ? DASH1 : OTHER;
            case DASH1:
                return c == '-' ? DASH2 : OTHER;
            case DASH2:
                return c == '-' ? DASH3 : OTHER;
            case DASH3:
            case TRAIL:
                return space ? TRAIL : OTHER;
            default:
                return OTHER;
        }
    }

    private static int kind(int st) {
        if (st == LEAD) {
            return KIND_BLANK;
        }
        return st == DASH3 || st == TRAIL ? KIND_DELIMITER : KIND_TEXT;
    }

    /** Stream position from which bytes must stay in the buffer, or -1. */
    private long retainFrom() {
        if (mode != MODE_BLOCK || capped) {
            return -1;
        }
        return haveContent ? blockStart : lineStartPos;
    }

    /**
     * Called when every buffered byte is consumed ({@code pos == lim}): drops what need not
     * be kept and reads more. False at the end of the stream (nothing was added).
     */
    private boolean fill() throws IOException {
        if (eof) {
            return false;
        }
        long keep = retainFrom();
        int keepIdx = pos;
        if (keep >= 0) {
            keepIdx = (int) (keep - base);
            if (base + pos - keep > maxBlock) {
                head = Arrays.copyOfRange(buf, keepIdx, keepIdx + maxBlock);
                capped = true;
                keepIdx = pos;
            }
        }
        if (keepIdx > 0) {
            System.arraycopy(buf, keepIdx, buf, 0, lim - keepIdx);
            base += keepIdx;
            pos -= keepIdx;
            lim -= keepIdx;
        }
        if (lim == buf.length) {
            buf = Arrays.copyOf(buf, (int) Math.min((long) buf.length * 2, Integer.MAX_VALUE - 16));
        }
        int before = lim;
        while (lim < buf.length) {
            int n;
            try {
                n = in.read(buf, lim, buf.length - lim);
            } catch (IOException | RuntimeException e) {
                if (guard == null || guard.failed) {
                    throw e;
                }
                failure = "corrupt_input: " + e;
                eof = true;
                break;
            }
            if (n < 0) {
                eof = true;
                break;
            }
            lim += n;
        }
        return lim > before;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }

    /** A raw stream that remembers whether it failed (to tell I/O errors from decoding errors). */
    static final class GuardedStream extends FilterInputStream {
        volatile boolean failed;

        GuardedStream(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            try {
                return super.read();
            } catch (IOException | RuntimeException e) {
                failed = true;
                throw e;
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return in.read(b, off, len);
            } catch (IOException | RuntimeException e) {
                failed = true;
                throw e;
            }
        }

        @Override
        public long skip(long n) throws IOException {
            try {
                return super.skip(n);
            } catch (IOException | RuntimeException e) {
                failed = true;
                throw e;
            }
        }

        @Override
        public int available() throws IOException {
            try {
                return super.available();
            } catch (IOException | RuntimeException e) {
                failed = true;
                throw e;
            }
        }
    }
}
