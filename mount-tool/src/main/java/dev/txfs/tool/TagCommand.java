package dev.txfs.tool;

import dev.txfs.snapshot.Json;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.RefStore;
import dev.txfs.snapshot.Snapshot;
import dev.txfs.snapshot.Snapshots;
import dev.txfs.txn.LiveTree;
import java.io.PrintWriter;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code txfs tag}: names a snapshot with the ref {@code tags/NAME}, lists tags, deletes one. Refs
 * move by compare-and-set, so two commands racing for one new tag cannot both win.
 */
@Command(
        name = "tag",
        description = {
            "Name a snapshot with a tag (the ref tags/NAME), list the tags, or delete one.",
            "txfs tag NAME ID: tag snapshot ID (refuses to move an existing tag without --force).",
            "txfs tag [--list] [--json]: list the tags. txfs tag -d NAME: delete a tag.",
            "A tag is accepted wherever a snapshot is named, as NAME or tags/NAME.",
            "NAME: letters, digits, '_', '.', '-', and '/' between parts; no part starting with '.' or '-', "
                    + "no '..'; not HEAD or live; not 4 or more hex digits only (that would read as an id prefix)."
        })
final class TagCommand extends BaseCommand {
    @Parameters(index = "0", arity = "0..1", paramLabel = "NAME", description = "The tag (without tags/).")
    String name;

    @Parameters(
            index = "1",
            arity = "0..1",
            paramLabel = "ID",
            description = "The snapshot: a ref, a full id or a unique id prefix, with ~N and ^N suffixes.")
    String snapshot;

    @Option(
            names = {"-l", "--list"},
            description = "List the tags: name, snapshot id, time, first line of the message.")
    boolean list;

    @Option(
            names = {"-d", "--delete"},
            description = "Delete the tag NAME.")
    boolean delete;

    @Option(
            names = {"-f", "--force"},
            description = "Move NAME to ID even if it names another snapshot now.")
    boolean force;

    @Option(names = "--json", description = "With --list: one JSON array of {name, ref, id, time_ns, time, message}.")
    boolean json;

    @Override
    public Integer call() {
        if (delete && (list || force || json)) {
            throw new ToolException(ExitCode.USAGE, "-d goes with NAME only");
        }
        if (list || (name == null && !delete)) {
            if (name != null || force) {
                throw new ToolException(ExitCode.USAGE, "--list takes no NAME, ID or --force");
            }
            return list();
        }
        if (json) {
            throw new ToolException(ExitCode.USAGE, "--json goes with --list");
        }
        if (name == null) {
            throw new ToolException(ExitCode.USAGE, "missing tag NAME");
        }
        String ref = refName(name);
        if (delete) {
            if (snapshot != null) {
                throw new ToolException(ExitCode.USAGE, "-d takes NAME only, not an ID");
            }
            return delete(ref);
        }
        if (snapshot == null) {
            throw new ToolException(ExitCode.USAGE, "missing snapshot ID (txfs tag NAME ID)");
        }
        return create(ref);
    }

    /** {@code tags/NAME} after checking NAME; {@code tags/NAME} itself is accepted too. */
    static String refName(String name) {
        String tag = name.startsWith(Snapshots.TAGS) ? name.substring(Snapshots.TAGS.length()) : name;
        String why = null;
        if (tag.isEmpty()) {
            why = "it is empty";
        } else if (tag.equals(Snapshots.HEAD) || tag.equals(LiveTree.REF)) {
            why = "'" + tag + "' names a ref already";
        } else if (tag.length() >= Snapshots.MIN_PREFIX && tag.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
            why = "hex digits only would read as a snapshot id prefix";
        } else {
            try {
                RefStore.checkName(Snapshots.TAGS + tag);
            } catch (IllegalArgumentException e) {
                why = "use letters, digits, '_', '.', '-', and '/' between parts; no '..'";
            }
        }
        if (why != null) {
            throw new ToolException(ExitCode.USAGE, "invalid tag name '" + name + "': " + why);
        }
        return Snapshots.TAGS + tag;
    }

    private int create(String ref) {
        try (LmdbObjectStore store = openStore()) {
            ObjectId id = resolve(store, snapshot);
            Snapshots.load(store, id);
            set(store, ref, id, force);
            out().println(ref + " " + id.toHex());
            out().flush();
        }
        return ExitCode.OK.code;
    }

    /**
     * Moves the tag ref {@code ref} to {@code id} by compare-and-set; an existing tag naming another
     * snapshot is moved only with {@code force}, else this exits {@link ExitCode#USAGE}.
     */
    static void set(ObjectStore store, String ref, ObjectId id, boolean force) {
        while (true) {
            Optional<ObjectId> now = store.refs().find(ref);
            if (now.isPresent() && now.get().equals(id)) {
                return; // already there: nothing to move
            }
            if (now.isPresent() && !force) {
                throw exists(ref, now.get());
            }
            if (store.refs().compareAndSet(ref, now.orElse(null), id)) {
                return;
            }
        }
    }

    /** Refuses, unless {@code force}, a tag ref that exists already: checked before a new snapshot is recorded. */
    static void checkFree(ObjectStore store, String ref, boolean force) {
        Optional<ObjectId> now = store.refs().find(ref);
        if (now.isPresent() && !force) {
            throw exists(ref, now.get());
        }
    }

    private static ToolException exists(String ref, ObjectId now) {
        return new ToolException(
                ExitCode.USAGE, "tag '" + shortName(ref) + "' exists (" + now.shortHex() + "); use --force to move it");
    }

    private int delete(String ref) {
        try (LmdbObjectStore store = openStore()) {
            while (true) {
                Optional<ObjectId> now = store.refs().find(ref);
                if (now.isEmpty()) {
                    throw new ToolException(ExitCode.NOT_FOUND, "no tag named '" + shortName(ref) + "'");
                }
                if (store.refs().compareAndSet(ref, now.get(), null)) {
                    out().println("deleted " + ref + " (was " + now.get().toHex() + ")");
                    out().flush();
                    return ExitCode.OK.code;
                }
            }
        }
    }

    private int list() {
        try (LmdbObjectStore store = openStore()) {
            PrintWriter out = out();
            Json w = new Json().beginArray();
            for (Map.Entry<String, ObjectId> t :
                    store.refs().list(Snapshots.TAGS).entrySet()) {
                Snapshot s = load(store, t.getValue());
                String first = s == null
                        ? "(not a readable snapshot)"
                        : s.message().lines().findFirst().orElse("");
                if (json) {
                    w.beginObject().field("name", shortName(t.getKey())).field("ref", t.getKey());
                    w.field("id", t.getValue().toHex());
                    if (s != null) {
                        w.field("time_ns", s.timeNs()).field("time", Times.iso(s.timeNs()));
                        w.field("message", s.message());
                    }
                    w.endObject();
                } else {
                    out.println(shortName(t.getKey()) + "\t" + t.getValue().shortHex() + "\t"
                            + (s == null ? "-" : Times.format(s.timeNs())) + "\t" + first);
                }
            }
            if (json) {
                out.println(w.endArray());
            }
            out.flush();
        }
        return ExitCode.OK.code;
    }

    /** The snapshot, or null when it cannot be read (verify names the damage; a listing still lists). */
    private static Snapshot load(ObjectStore store, ObjectId id) {
        try {
            return Snapshots.load(store, id);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static String shortName(String ref) {
        return ref.substring(Snapshots.TAGS.length());
    }
}
