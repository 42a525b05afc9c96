package dev.txfs.tool;

import dev.txfs.snapshot.Json;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.Snapshots;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code txfs boot}: which snapshot a machine boots into ({@link BootSelector}), and the initramfs
 * and systemd integration that acts on it ({@link BootInstaller}).
 */
@Command(
        name = "boot",
        description = {
            "Boot selection: the kernel arguments txfs.root=<id|prefix|ref|tag> and txfs.store=<device>[:<dir>]"
                    + " choose the root snapshot; without txfs.root, the ref boot/default.",
            "A value that names nothing falls back to boot/last-good, then boot/default. A default set with"
                    + " --tries N falls back to boot/last-good after N boots not marked good."
        },
        subcommands = {
            BootCommand.Resolve.class,
            BootCommand.ListBoot.class,
            BootCommand.SetDefault.class,
            BootCommand.MarkGood.class,
            BootCommand.Install.class
        })
final class BootCommand implements Callable<Integer> {
    @ParentCommand
    TxfsCommand txfs;

    @Override
    public Integer call() {
        throw new ToolException(
                ExitCode.USAGE, "txfs boot: say what: resolve, list, set-default, mark-good or install");
    }

    /** What the boot verbs share: the store of the top-level command and the output writers. */
    abstract static class Verb implements Callable<Integer> {
        @ParentCommand
        BootCommand boot;

        @Spec
        CommandSpec spec;

        PrintWriter out() {
            return spec.commandLine().getOut();
        }

        PrintWriter err() {
            return spec.commandLine().getErr();
        }

        LmdbObjectStore openStore() {
            return boot.txfs.locator.open(boot.txfs.store);
        }
    }

    @Command(
            name = "resolve",
            description = {
                "Print the snapshot a boot with this kernel command line gets, the rule that chose it and why;"
                        + " fallback messages go to stderr.",
                "Unless --dry-run, records the boot (ref boot/booted) and uses one try of an assessed default:"
                        + " the initramfs hook runs this once per boot."
            })
    static final class Resolve extends Verb {
        @Option(
                names = "--cmdline",
                paramLabel = "FILE",
                required = true,
                description = "The kernel command line (/proc/cmdline in the initramfs).")
        Path cmdline;

        @Option(names = "--dry-run", description = "Only print the decision: use no try, record nothing.")
        boolean dryRun;

        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @Override
        public Integer call() {
            KernelCmdline args;
            try {
                args = KernelCmdline.parse(Files.readString(cmdline));
            } catch (NoSuchFileException e) {
                throw new ToolException(ExitCode.NOT_FOUND, "no such file: " + cmdline);
            } catch (IOException e) {
                throw new ToolException(ExitCode.IO, "cannot read " + cmdline + ": " + e.getMessage());
            }
            Optional<KernelCmdline.StoreLocation> where = args.store();
            BootSelector.Decision d;
            try (LmdbObjectStore store = openStore()) {
                BootSelector selector = new BootSelector(store);
                d = dryRun ? selector.decide(args) : selector.boot(args);
            } catch (BootSelector.NothingToBootException e) {
                throw new ToolException(ExitCode.NOT_FOUND, "boot: " + e.getMessage(), e);
            }
            for (String f : d.fallbacks()) {
                err().println(Errors.PREFIX + "boot: " + f);
            }
            err().flush();
            String tries = d.next()
                    .filter(t -> t.snapshot().equals(d.snapshot()))
                    .map(t -> t.left() + "/" + t.total())
                    .orElse("");
            if (json) {
                Json j = new Json()
                        .beginObject()
                        .field("snapshot", d.snapshot().toHex())
                        .field("rule", d.rule().label)
                        .field("why", d.why())
                        .field("fallback", !d.fallbacks().isEmpty())
                        .name("messages")
                        .beginArray();
                d.fallbacks().forEach(j::value);
                j.endArray().field("usedTry", d.usesTry()).field("dryRun", dryRun);
                if (!tries.isEmpty()) {
                    j.field("triesLeft", d.next().get().left())
                            .field("triesTotal", d.next().get().total());
                }
                where.ifPresent(w -> j.field("storeDevice", w.device()).field("storeDir", w.dir()));
                out().println(j.endObject());
            } else {
                // key=value lines, for people and for the hook's shell (sed -n 's/^snapshot=//p')
                out().println("snapshot=" + d.snapshot().toHex());
                out().println("rule=" + d.rule().label);
                out().println("why=" + d.why());
                out().println("fallback=" + (d.fallbacks().isEmpty() ? "no" : "yes"));
                if (!tries.isEmpty()) {
                    out().println("tries-left=" + tries);
                }
                where.ifPresent(w -> {
                    out().println("store-device=" + w.device());
                    out().println("store-dir=" + w.dir());
                });
            }
            out().flush();
            return ExitCode.OK.code;
        }
    }

    @Command(name = "list", description = "The boot refs (boot/*), the default's tries left, and boot/last-good.")
    static final class ListBoot extends Verb {
        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @Override
        public Integer call() {
            SortedMap<String, ObjectId> refs;
            Optional<BootSelector.Tries> tries;
            boolean unreadable;
            try (LmdbObjectStore store = openStore()) {
                refs = store.refs().list("boot/");
                tries = new BootSelector(store).tries();
                unreadable = new BootSelector(store).counterUnreadable();
            }
            Optional<ObjectId> dflt = Optional.ofNullable(refs.get(BootSelector.DEFAULT));
            Optional<BootSelector.Tries> assessed =
                    tries.filter(t -> dflt.isPresent() && t.snapshot().equals(dflt.get()));
            if (json) {
                Json j = new Json().beginObject().name("refs").beginObject();
                for (Map.Entry<String, ObjectId> e : refs.entrySet()) {
                    j.field(e.getKey(), e.getValue().toHex());
                }
                j.endObject();
                if (assessed.isPresent()) {
                    j.field("triesLeft", assessed.get().left())
                            .field("triesTotal", assessed.get().total());
                }
                j.field("defaultMarkedGood", dflt.isPresent() && assessed.isEmpty() && !unreadable);
                j.field("triesUnreadable", unreadable);
                out().println(j.endObject());
            } else {
                if (refs.isEmpty()) {
                    out().println("no boot refs (txfs boot set-default ID)");
                }
                for (Map.Entry<String, ObjectId> e : refs.entrySet()) {
                    String note = "";
                    if (e.getKey().equals(BootSelector.DEFAULT)) {
                        note = assessed.map(t -> t.left() == 0
                                        ? "  (no tries left of " + t.total() + ": boots fall back to boot/last-good)"
                                        : "  (" + t.left() + " of " + t.total() + " tries left, not yet marked good)")
                                .orElse(
                                        unreadable
                                                ? "  (try counter unreadable: boots fall back to boot/last-good)"
                                                : "  (trusted: marked good or set without assessment)");
                    }
                    out().printf("%-16s %s%s%n", e.getKey(), e.getValue().toHex(), note);
                }
            }
            out().flush();
            return ExitCode.OK.code;
        }
    }

    @Command(
            name = "set-default",
            description = "Make SNAPSHOT the default boot (ref boot/default). It gets N boots to be marked good;"
                    + " after that, boots fall back to boot/last-good.")
    static final class SetDefault extends Verb {
        @Parameters(
                paramLabel = "SNAPSHOT",
                description = "A ref, a tag, a snapshot id or a unique prefix, with ~N and ^N suffixes.")
        String snapshot;

        @Option(
                names = "--tries",
                paramLabel = "N",
                description = "Boots it gets to be marked good (default: ${DEFAULT-VALUE}; 1 to 1000).")
        int tries = BootSelector.DEFAULT_TRIES;

        @Override
        public Integer call() {
            if (tries < 1 || tries > BootSelector.MAX_TRIES) {
                throw new ToolException(
                        ExitCode.USAGE, "--tries must be between 1 and " + BootSelector.MAX_TRIES + ", not " + tries);
            }
            try (LmdbObjectStore store = openStore()) {
                ObjectId id = BaseCommand.resolve(store, snapshot);
                new BootSelector(store).setDefault(id, tries);
                out().println(BootSelector.DEFAULT + " " + id.toHex() + " (" + tries + " tr"
                        + (tries == 1 ? "y" : "ies") + " to be marked good)");
            }
            out().flush();
            return ExitCode.OK.code;
        }
    }

    @Command(
            name = "mark-good",
            description = {
                "Mark the running boot good: boot/last-good becomes the snapshot booted (ref boot/booted, set by"
                        + " the boot's resolve), and if that is the default, its tries are no longer counted.",
                "The unit txfs-mark-good.service runs this when the system reaches its default target."
            })
    static final class MarkGood extends Verb {
        @Parameters(
                arity = "0..1",
                paramLabel = "SNAPSHOT",
                description = "The snapshot to mark good (default: the one booted).")
        String snapshot;

        @Option(
                names = "--booted",
                paramLabel = "FILE",
                description = "Take the store and the snapshot from the boot record FILE (/run/txfs/booted, written"
                        + " by the initramfs; read as data, never run).")
        Path booted;

        @Override
        public Integer call() {
            Optional<BootedFile> record = Optional.empty();
            if (booted != null) {
                if (snapshot != null) {
                    throw new ToolException(ExitCode.USAGE, "give either SNAPSHOT or --booted, not both");
                }
                try {
                    record = Optional.of(BootedFile.parse(Files.readString(booted), booted.toString()));
                } catch (NoSuchFileException e) {
                    throw new ToolException(ExitCode.NOT_FOUND, "no such file: " + booted);
                } catch (IOException | UncheckedIOException e) {
                    throw new ToolException(ExitCode.IO, "cannot read " + booted + ": " + Errors.message(e));
                }
            }
            if (record.isPresent()
                    && boot.txfs.store != null
                    && !boot.txfs.store.equals(record.get().store())) {
                throw new ToolException(
                        ExitCode.USAGE, "--store " + boot.txfs.store + " is not the store " + booted + " names");
            }
            Path storeDir = record.map(BootedFile::store).orElse(boot.txfs.store);
            try (LmdbObjectStore store = boot.txfs.locator.open(storeDir)) {
                Optional<ObjectId> id = record.isPresent()
                        ? Optional.of(record.get().snapshot())
                        : snapshot == null ? Optional.empty() : Optional.of(BaseCommand.resolve(store, snapshot));
                if (id.isPresent() && !store.contains(id.get())) {
                    throw new ToolException(
                            ExitCode.NOT_FOUND, "no snapshot " + id.get().toHex() + " in " + storeDir);
                }
                ObjectId good;
                try {
                    good = new BootSelector(store).markGood(id);
                } catch (Snapshots.NotFoundException e) {
                    throw new ToolException(
                            ExitCode.NOT_FOUND, "no boot recorded (ref boot/booted): say which snapshot to mark good");
                }
                out().println(BootSelector.LAST_GOOD + " " + good.toHex());
            }
            out().flush();
            return ExitCode.OK.code;
        }
    }

    @Command(
            name = "install",
            description = {
                "Put the boot integration in place: the initramfs-tools hook and scripts, the dracut module,"
                        + " the shared shell library, the txfs jar and launcher under /usr/lib/txfs, and"
                        + " txfs-mark-good.service (enabled). --uninstall removes them.",
                "Then build the runtime (scripts/build-boot-runtime.sh /usr/lib/txfs/runtime) and the initramfs"
                        + " (update-initramfs -u, or dracut -f), and add txfs.store=<device>[:<dir>] to the"
                        + " kernel command line."
            })
    static final class Install extends Verb {
        @Option(names = "--uninstall", description = "Remove what install put in place.")
        boolean uninstall;

        @Option(names = "--root", paramLabel = "DIR", description = "Install below DIR instead of / (default: /).")
        Path root = Path.of("/");

        @Override
        public Integer call() throws IOException {
            if (!Files.isDirectory(root)) {
                throw new ToolException(ExitCode.NOT_FOUND, "no such directory: " + root);
            }
            BootInstaller installer = new BootInstaller(root);
            java.util.List<Path> done = uninstall ? installer.uninstall() : installer.install();
            for (Path p : done) {
                out().println((uninstall ? "removed " : "installed ") + p);
            }
            if (!uninstall && !Files.isExecutable(root.resolve(BootInstaller.RUNTIME_JAVA))) {
                err().println(Errors.PREFIX + "warning: no runtime at /" + BootInstaller.RUNTIME_JAVA
                        + " yet: build it with scripts/build-boot-runtime.sh");
            }
            out().flush();
            err().flush();
            return ExitCode.OK.code;
        }
    }
}
