package dev.txfs.tool;

import dev.txfs.snapshot.Directories;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.Json;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.Root;
import dev.txfs.snapshot.Snapshot;
import dev.txfs.snapshot.Snapshots;
import dev.txfs.snapshot.TreeEntry;
import java.io.PrintWriter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code txfs show SNAPSHOT}: a snapshot's fields, its tree id and what the tree holds. */
@Command(name = "show", description = "Show a snapshot: id, tree id, parents, author, date, message and counts.")
final class ShowCommand extends BaseCommand {
    @Parameters(
            index = "0",
            paramLabel = "SNAPSHOT",
            description = "A ref (HEAD, live, a tag), a snapshot id or a unique id prefix, with ~N and ^N suffixes.")
    String snapshot;

    @Option(
            names = "--json",
            description = "One JSON object: the fields of log --json, and counts (files, directories, symlinks, "
                    + "others, link_groups, link_names, bytes).")
    boolean json;

    /** Names and bytes in a tree. */
    static final class Counts {
        long files;
        long directories;
        long symlinks;
        long others;
        long linkGroups;
        long linkNames;
        long bytes;

        long names() {
            return files + directories + symlinks + others;
        }
    }

    @Override
    public Integer call() {
        try (LmdbObjectStore store = openStore()) {
            ObjectId id = resolve(store, snapshot);
            Snapshot s = Snapshots.load(store, id);
            Root root = Snapshots.loadRoot(store, s.root());
            Counts c = count(store, root);
            List<String> parents = new ArrayList<>();
            s.parents().forEach(p -> parents.add(p.toHex()));
            List<String> refs = LogCommand.refNames(store).getOrDefault(id, List.of());
            PrintWriter out = out();
            if (json) {
                Json w = LogCommand.jsonFields(new Json(), id, s, refs);
                w.name("counts").beginObject();
                w.field("files", c.files).field("directories", c.directories).field("symlinks", c.symlinks);
                w.field("others", c.others).field("link_groups", c.linkGroups).field("link_names", c.linkNames);
                w.field("bytes", c.bytes).endObject();
                out.println(w.endObject());
                out.flush();
                return ExitCode.OK.code;
            }
            out.println("snapshot  " + id.toHex());
            out.println("tree      " + s.root().toHex());
            out.println("parents   " + (parents.isEmpty() ? "(none)" : String.join(" ", parents)));
            out.println("refs      " + (refs.isEmpty() ? "(none)" : String.join(" ", refs)));
            out.println("author    " + s.author());
            out.println("date      " + Times.format(s.timeNs()));
            out.println("entries   " + c.names() + ": " + c.files + " files, " + c.directories + " directories, "
                    + c.symlinks + " symlinks, " + c.others + " other; " + c.linkGroups + " hard-link groups ("
                    + c.linkNames + " names)");
            out.println("size      " + c.bytes + " bytes (" + Progress.mib(c.bytes) + ")");
            out.println("message");
            s.message().lines().forEach(l -> out.println("    " + l));
            out.flush();
        }
        return ExitCode.OK.code;
    }

    static Counts count(ObjectStore store, Root root) {
        Counts c = new Counts();
        countTree(store, root.dir().tree(), c);
        if (root.links() != null) {
            for (TreeEntry record : Directories.list(store, root.links().id())) {
                int names = record.linkPaths() == null ? 0 : record.linkPaths().size();
                c.linkGroups++;
                c.linkNames += names;
                add(c, record.kind(), names);
                if (record.kind() == EntryKind.FILE) {
                    c.bytes += record.size();
                }
            }
        }
        return c;
    }

    /** The counts of the tree {@code tree} and everything below it (hard links: not counted). */
    static Counts countTree(ObjectStore store, ObjectId tree) {
        Counts c = new Counts();
        countTree(store, tree, c);
        return c;
    }

    /** Iterative (a queue of directories still to count): the tree's depth never reaches the stack. */
    private static void countTree(ObjectStore store, ObjectId tree, Counts c) {
        Deque<ObjectId> todo = new ArrayDeque<>();
        todo.push(tree);
        while (!todo.isEmpty()) {
            Directories.forEach(store, todo.pop(), e -> {
                switch (e.kind()) {
                    case DIRECTORY -> {
                        c.directories++;
                        todo.push(e.tree());
                    }
                    case FILE -> {
                        c.files++;
                        c.bytes += e.size();
                    }
                    case HARDLINK -> {} // counted from the link table, once per group
                    default -> add(c, e.kind(), 1);
                }
            });
        }
    }

    private static void add(Counts c, EntryKind kind, long n) {
        switch (kind) {
            case FILE -> c.files += n;
            case SYMLINK -> c.symlinks += n;
            case DIRECTORY -> c.directories += n;
            default -> c.others += n;
        }
    }
}
