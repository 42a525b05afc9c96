package dev.txfs.tool;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** Times as the commands print them: UTC, ISO 8601, nanoseconds kept. */
final class Times {
    private static final DateTimeFormatter FORMAT =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSSSSS 'UTC'").withZone(ZoneOffset.UTC);

    private Times() {}

    /** RFC 3339 / ISO 8601 in UTC with nanoseconds, for JSON output: {@code 2026-11-22T04:10:12.123456789Z}. */
    static String iso(long epochNs) {
        return instant(epochNs).toString();
    }

    private static Instant instant(long epochNs) {
        return Instant.ofEpochSecond(Math.floorDiv(epochNs, 1_000_000_000L), Math.floorMod(epochNs, 1_000_000_000L));
    }

    static String format(long epochNs) {
        return FORMAT.format(
                Instant.ofEpochSecond(Math.floorDiv(epochNs, 1_000_000_000L), Math.floorMod(epochNs, 1_000_000_000L)));
    }
}
