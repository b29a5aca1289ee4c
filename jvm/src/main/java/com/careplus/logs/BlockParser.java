package com.careplus.logs;

import java.nio.charset.StandardCharsets;

/**
 * Parses one log block (the bytes between two {@code ---} lines, blank lines around it
 * trimmed) into byte ranges of its 14 fields, in one pass and without allocation.
 *
 * <p>A block is six lines:
 * <pre>
 * 2025-07-01 00:21:00 [INFO] careplus.support.GenericService - TicketID=TCK0701000 SessionID=sess_TCK0701000
 * IP=60.130.155.7 | ResponseTime=1269ms | CPU=27.64% | EventType=generic_event | Error=false
 * UserAgent="PostmanRuntime/7.32.2"
 * Message=" event for TCK0701000"
 * Debug="Logged for monitoring"
 * TraceID=None
 * </pre>
 * Values are kept exactly as written (only trailing spaces, tabs and CR of each line are
 * ignored); the parser checks structure, not values (typing is silver's job). Checks, in
 * order, each giving a {@code parse_error}:
 * <ol>
 *   <li>{@code garbage}: no line starts like any of the six line kinds;</li>
 *   <li>{@code extra_line: expected 6 lines, found N} for more than six lines;</li>
 *   <li>fewer than six lines: {@code truncated: block ends inside line N} when the lines
 *       before the last are the expected ones and the last is no complete line of the kinds
 *       that may come there (it was cut), else {@code missing_line: expected 6 lines, found N};</li>
 *   <li>{@code bad_header: timestamp|level|TicketID|SessionID} for line 1;</li>
 *   <li>{@code bad_field: IP|ResponseTime|CPU|EventType|Error|UserAgent|Message|Debug|TraceID}.</li>
 * </ol>
 * The reference implementation in Python ({@code tests/reference_log_parser.py}) follows
 * the same rules; keep them in step.
 */
public final class BlockParser {
    /** Index of each parsed field in {@link #start}/{@link #end}. */
    public static final int TS = 0;
    public static final int LEVEL = 1;
    public static final int SERVICE = 2;
    public static final int TICKET_ID = 3;
    public static final int SESSION_ID = 4;
    public static final int IP = 5;
    public static final int RESPONSE_TIME = 6;
    public static final int CPU = 7;
    public static final int EVENT_TYPE = 8;
    public static final int ERROR = 9;
    public static final int USER_AGENT = 10;
    public static final int MESSAGE = 11;
    public static final int DEBUG = 12;
    public static final int TRACE_ID = 13;
    /** Number of parsed fields. */
    public static final int FIELD_COUNT = 14;
    /** Lines per well-formed block. */
    public static final int LINES = 6;

    static final String GARBAGE = "garbage";
    static final String BAD_TIMESTAMP = "bad_header: timestamp";
    static final String BAD_LEVEL = "bad_header: level";
    static final String BAD_TICKET = "bad_header: TicketID";
    static final String BAD_SESSION = "bad_header: SessionID";
    static final String BAD_IP = "bad_field: IP";
    static final String BAD_RESPONSE_TIME = "bad_field: ResponseTime";
    static final String BAD_CPU = "bad_field: CPU";
    static final String BAD_EVENT_TYPE = "bad_field: EventType";
    static final String BAD_ERROR = "bad_field: Error";
    static final String BAD_USER_AGENT = "bad_field: UserAgent";
    static final String BAD_MESSAGE = "bad_field: Message";
    static final String BAD_DEBUG = "bad_field: Debug";
    static final String BAD_TRACE_ID = "bad_field: TraceID";

    private static final byte[] HEADER_TICKET = ascii(" - TicketID=");
    private static final byte[] HEADER_SESSION = ascii(" SessionID=");
    private static final byte[] IP_KEY = ascii("IP=");
    private static final byte[] RT_SEP = ascii(" | ResponseTime=");
    private static final byte[] CPU_SEP = ascii(" | CPU=");
    private static final byte[] EVENT_SEP = ascii(" | EventType=");
    private static final byte[] ERROR_SEP = ascii(" | Error=");
    private static final byte[] UA_KEY = ascii("UserAgent=\"");
    private static final byte[] MESSAGE_KEY = ascii("Message=\"");
    private static final byte[] DEBUG_KEY = ascii("Debug=\"");
    private static final byte[] TRACE_KEY = ascii("TraceID=");
    private static final byte[][] LINE_PREFIXES = {
        IP_KEY, ascii("UserAgent="), ascii("Message="), ascii("Debug="), TRACE_KEY,
    };

    /** Start (inclusive) of each field in the parsed array; valid after a successful parse. */
    public final int[] start = new int[FIELD_COUNT];
    /** End (exclusive) of each field in the parsed array; valid after a successful parse. */
    public final int[] end = new int[FIELD_COUNT];

    private final int[] lineStart = new int[LINES];
    private final int[] lineEnd = new int[LINES];

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Parses {@code b[from, to)}.
     *
     * @return null when the block is well-formed (the field ranges are then set), else the
     *     reason code with its detail
     */
    public String parse(byte[] b, int from, int to) {
        int lines = 0;
        boolean recognised = false;
        int i = from;
        while (i < to) {
            int nl = Bytes.newline(b, i, to);
            int e = nl;
            while (e > i && (b[e - 1] == ' ' || b[e - 1] == '\t' || b[e - 1] == '\r')) {
                e--;
            }
            if (lines < LINES) {
                lineStart[lines] = i;
                lineEnd[lines] = e;
            }
            if (!recognised) {
                recognised = recognisable(b, i, e);
            }
            lines++;
            i = nl + 1;
        }
        if (!recognised) {
            return GARBAGE;
        }
        if (lines > LINES) {
            return "extra_line: expected 6 lines, found " + lines;
        }
        if (lines < LINES) {
            return truncated(b, lines) ? "truncated: block ends inside line " + lines
                    : "missing_line: expected 6 lines, found " + lines;
        }
        for (int k = 0; k < LINES; k++) {
            String reason = parseLine(k, b, lineStart[k], lineEnd[k]);
            if (reason != null) {
                return reason;
            }
        }
        return null;
    }

    /**
     * A short block is cut (rather than missing a line) when its lines but the last are the
     * expected ones and the last is no complete line of any kind that may come there.
     */
    private boolean truncated(byte[] b, int lines) {
        for (int k = 0; k < lines - 1; k++) {
            if (parseLine(k, b, lineStart[k], lineEnd[k]) != null) {
                return false;
            }
        }
        int last = lines - 1;
        for (int k = last; k < LINES; k++) {
            if (parseLine(k, b, lineStart[last], lineEnd[last]) == null) {
                return false;
            }
        }
        return true;
    }

    /** Whether a line starts like one of the six line kinds (a timestamp or a known key). */
    static boolean recognisable(byte[] b, int s, int e) {
        if (e - s >= 10 && isDigit(b[s]) && isDigit(b[s + 1]) && isDigit(b[s + 2]) && isDigit(b[s + 3])
                && b[s + 4] == '-' && isDigit(b[s + 5]) && isDigit(b[s + 6]) && b[s + 7] == '-'
                && isDigit(b[s + 8]) && isDigit(b[s + 9])) {
            return true;
        }
        for (byte[] prefix : LINE_PREFIXES) {
            if (startsWith(b, s, e, prefix)) {
                return true;
            }
        }
        return false;
    }

    private String parseLine(int k, byte[] b, int s, int e) {
        switch (k) {
            case 0:
                return parseHeader(b, s, e);
            case 1:
                return parseMetrics(b, s, e);
            case 2:
                return quoted(b, s, e, UA_KEY, USER_AGENT) ? null : BAD_USER_AGENT;
            case 3:
                return quoted(b, s, e, MESSAGE_KEY, MESSAGE) ? null : BAD_MESSAGE;
            case 4:
                return quoted(b, s, e, DEBUG_KEY, DEBUG) ? null : BAD_DEBUG;
            default:
                if (!startsWith(b, s, e, TRACE_KEY)) {
                    return BAD_TRACE_ID;
                }
                set(TRACE_ID, s + TRACE_KEY.length, e);
                return null;
        }
    }

    /** {@code yyyy-MM-dd HH:mm:ss [LEVEL] service - TicketID=t SessionID=s}. */
    private String parseHeader(byte[] b, int s, int e) {
        if (e - s < 21 || !timestampShape(b, s) || b[s + 19] != ' ' || b[s + 20] != '[') {
            return BAD_TIMESTAMP;
        }
        int levelStart = s + 21;
        int close = indexOf(b, levelStart, e, (byte) ']');
        if (close < 0 || close + 1 >= e || b[close + 1] != ' ') {
            return BAD_LEVEL;
        }
        int serviceStart = close + 2;
        int ticketSep = indexOf(b, serviceStart, e, HEADER_TICKET);
        if (ticketSep < 0) {
            return BAD_TICKET;
        }
        int ticketStart = ticketSep + HEADER_TICKET.length;
        int sessionSep = indexOf(b, ticketStart, e, HEADER_SESSION);
        if (sessionSep < 0) {
            return BAD_SESSION;
        }
        set(TS, s, s + 19);
        set(LEVEL, levelStart, close);
        set(SERVICE, serviceStart, ticketSep);
        set(TICKET_ID, ticketStart, sessionSep);
        set(SESSION_ID, sessionSep + HEADER_SESSION.length, e);
        return null;
    }

    /** {@code IP=a | ResponseTime=b | CPU=c | EventType=d | Error=e}. */
    private String parseMetrics(byte[] b, int s, int e) {
        if (!startsWith(b, s, e, IP_KEY)) {
            return BAD_IP;
        }
        int ipStart = s + IP_KEY.length;
        int rt = indexOf(b, ipStart, e, RT_SEP);
        if (rt < 0) {
            return BAD_RESPONSE_TIME;
        }
        int rtStart = rt + RT_SEP.length;
        int cpu = indexOf(b, rtStart, e, CPU_SEP);
        if (cpu < 0) {
            return BAD_CPU;
        }
        int cpuStart = cpu + CPU_SEP.length;
        int ev = indexOf(b, cpuStart, e, EVENT_SEP);
        if (ev < 0) {
            return BAD_EVENT_TYPE;
        }
        int evStart = ev + EVENT_SEP.length;
        int err = indexOf(b, evStart, e, ERROR_SEP);
        if (err < 0) {
            return BAD_ERROR;
        }
        set(IP, ipStart, rt);
        set(RESPONSE_TIME, rtStart, cpu);
        set(CPU, cpuStart, ev);
        set(EVENT_TYPE, evStart, err);
        set(ERROR, err + ERROR_SEP.length, e);
        return null;
    }

    /** {@code Key="value"}: the value runs from the first to the last quote of the line. */
    private boolean quoted(byte[] b, int s, int e, byte[] key, int field) {
        if (e - s < key.length + 1 || !startsWith(b, s, e, key) || b[e - 1] != '"') {
            return false;
        }
        set(field, s + key.length, e - 1);
        return true;
    }

    private void set(int field, int s, int e) {
        start[field] = s;
        end[field] = e;
    }

    private static boolean timestampShape(byte[] b, int s) {
        for (int k = 0; k < 19; k++) {
            byte c = b[s + k];
            switch (k) {
                case 4:
                case 7:
                    if (c != '-') {
                        return false;
                    }
                    break;
                case 10:
                    if (c != ' ') {
                        return false;
                    }
                    break;
                case 13:
                case 16:
                    if (c != ':') {
                        return false;
                    }
                    break;
                default:
                    if (!isDigit(c)) {
                        return false;
                    }
            }
        }
        return true;
    }

    private static boolean isDigit(byte c) {
        return c >= '0' && c <= '9';
    }

    private static boolean startsWith(byte[] b, int s, int e, byte[] prefix) {
        if (e - s < prefix.length) {
            return false;
        }
        for (int k = 0; k < prefix.length; k++) {
            if (b[s + k] != prefix[k]) {
                return false;
            }
        }
        return true;
    }

    private static int indexOf(byte[] b, int s, int e, byte c) {
        for (int i = s; i < e; i++) {
            if (b[i] == c) {
                return i;
            }
        }
        return -1;
    }

    private static int indexOf(byte[] b, int s, int e, byte[] pat) {
        byte first = pat[0];
        int last = e - pat.length;
        outer:
        for (int i = s; i <= last; i++) {
            if (b[i] != first) {
                continue;
            }
            for (int k = 1; k < pat.length; k++) {
                if (b[i + k] != pat[k]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
