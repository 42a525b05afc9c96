package dev.txfs.snapshot;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Walks the revision suffixes of a snapshot name ({@code ~N}, {@code ^N}) from the snapshot the name
 * before them resolved to; see {@link Snapshots#resolve}.
 *
 * <p>Names are user input (also from the kernel, under {@code /.txfs/snapshots/}): counts are
 * parsed as bounded integers, and each step loads one snapshot, so a walk stops after at most as
 * many steps as the history is long, however large the count.
 */
final class Revisions {
    /** Largest count a suffix may give; far beyond any history, small enough not to overflow. */
    static final int MAX_COUNT = Integer.MAX_VALUE;

    private Revisions() {}

    /** One suffix: {@code ~count} (first parents) or {@code ^count} (the count-th parent). */
    record Step(boolean firstParents, int count) {}

    /** The suffixes of {@code spec} (the part from its first {@code ~} or {@code ^}), checked whole before any walk. */
    static List<Step> parse(String spec, String suffixes) {
        List<Step> steps = new ArrayList<>();
        int i = 0;
        while (i < suffixes.length()) {
            char op = suffixes.charAt(i++);
            if (op != '~' && op != '^') {
                throw malformed(spec, "unexpected '" + op + "'");
            }
            int end = i;
            while (end < suffixes.length() && isAsciiDigit(suffixes.charAt(end))) {
                end++;
            }
            steps.add(new Step(op == '~', end == i ? 1 : count(spec, suffixes.substring(i, end))));
            i = end;
        }
        return steps;
    }

    static ObjectId walk(ObjectStore store, String spec, ObjectId start, List<Step> suffixes) {
        Set<ObjectId> shallow = store.shallow();
        ObjectId at = start;
        long steps = 0;
        for (Step step : suffixes) {
            if (step.firstParents()) {
                for (int k = 0; k < step.count(); k++) {
                    at = parent(store, shallow, spec, at, 1, steps);
                    steps++;
                }
            } else if (step.count() > 0) {
                at = parent(store, shallow, spec, at, step.count(), steps);
                steps++;
            }
        }
        return at;
    }

    /** The {@code nth} parent (1-based) of {@code id}, or a {@link Snapshots.NotFoundException} naming how far the walk got. */
    private static ObjectId parent(
            ObjectStore store, Set<ObjectId> shallow, String spec, ObjectId id, int nth, long steps) {
        String got = " (history ends there; the walk got " + steps + (steps == 1 ? " step" : " steps") + " back)";
        if (shallow.contains(id)) {
            throw new Snapshots.NotFoundException(
                    spec,
                    "no snapshot named '" + spec + "': " + id.shortHex() + " is shallow (gc removed its parents)"
                            + got);
        }
        List<ObjectId> parents = Snapshots.load(store, id).parents();
        if (parents.isEmpty()) {
            throw new Snapshots.NotFoundException(
                    spec, "no snapshot named '" + spec + "': " + id.shortHex() + " has no parent" + got);
        }
        if (nth > parents.size()) {
            throw new Snapshots.NotFoundException(
                    spec,
                    "no snapshot named '" + spec + "': " + id.shortHex() + " has " + parents.size()
                            + (parents.size() == 1 ? " parent" : " parents") + ", not " + nth
                            + " (the walk got " + steps + (steps == 1 ? " step" : " steps") + " back)");
        }
        ObjectId p = parents.get(nth - 1);
        if (!store.contains(p)) {
            throw new Snapshots.NotFoundException(
                    spec,
                    "no snapshot named '" + spec + "': the parent " + p.shortHex() + " of " + id.shortHex()
                            + " is not in the store" + got);
        }
        return p;
    }

    private static boolean isAsciiDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static int count(String spec, String digits) {
        if (digits.length() > 10) {
            throw malformed(spec, "count " + digits + " is too large (at most " + MAX_COUNT + ")");
        }
        long n = Long.parseLong(digits);
        if (n > MAX_COUNT) {
            throw malformed(spec, "count " + digits + " is too large (at most " + MAX_COUNT + ")");
        }
        return (int) n;
    }

    private static TxfsException malformed(String spec, String why) {
        return new TxfsException(
                "malformed revision '" + spec + "': " + why + " (suffixes are ~N and ^N, as in HEAD~2 or v1^)");
    }
}
