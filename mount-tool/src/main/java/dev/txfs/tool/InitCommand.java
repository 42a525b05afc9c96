package dev.txfs.tool;

import dev.txfs.snapshot.LmdbObjectStore;
import java.nio.file.Files;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code txfs init}: creates an empty store. */
@Command(name = "init", description = "Create an empty store (in --store DIR, $TXFS_STORE or the default place).")
final class InitCommand extends BaseCommand {
    @Option(
            names = "--map-size",
            paramLabel = "SIZE",
            converter = SizeConverter.class,
            description = "The most the store may ever hold, e.g. 64G or 1T (default 1T); "
                    + "address space only, the file grows as data is written.")
    Long mapSize;

    @Override
    public Integer call() {
        StoreLocator.Location where = txfs.locator.locate(txfs.store);
        if (Files.exists(where.dir().resolve(LmdbObjectStore.CONF))) {
            throw new ToolException(ExitCode.FAILED, "a store already exists in " + where.dir());
        }
        long size = mapSize == null ? LmdbObjectStore.DEFAULT_MAP_SIZE : mapSize;
        try (LmdbObjectStore store = LmdbObjectStore.create(where.dir(), size)) {
            out().println("created store " + store.directory());
        }
        return ExitCode.OK.code;
    }
}
