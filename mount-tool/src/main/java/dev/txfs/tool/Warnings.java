package dev.txfs.tool;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Problems a command works around and reports at the end, grouped by kind, so a checkout as a
 * normal user says once that it could not set 3,000 owners rather than 3,000 times.
 *
 * <p>Threads: safe for any thread.
 */
final class Warnings {
    private static final class Group {
        long count;
        final String example;

        Group(String example) {
            this.example = example;
        }
    }

    private final Map<String, Group> groups = new LinkedHashMap<>();

    /** Notes one occurrence of {@code kind} (a short phrase), with {@code detail} as its example. */
    synchronized void add(String kind, String detail) {
        groups.computeIfAbsent(kind, k -> new Group(detail)).count++;
    }

    synchronized long count() {
        return groups.values().stream().mapToLong(g -> g.count).sum();
    }

    /** One line per kind. */
    synchronized List<String> lines() {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Group> e : groups.entrySet()) {
            Group g = e.getValue();
            out.add(
                    g.count == 1
                            ? e.getKey() + ": " + g.example
                            : e.getKey() + " (" + g.count + " times, first: " + g.example + ")");
        }
        return out;
    }
}
