package dev.txfs.tool;

import dev.txfs.snapshot.ObjectId;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The boot record {@code /run/txfs/booted}: what the initramfs booted, for {@code txfs boot
 * mark-good --booted FILE} (the unit txfs-mark-good.service) to read.
 *
 * <p>Format: lines {@code key=value} with keys {@code snapshot} (full hex id), {@code rule},
 * {@code store} (absolute directory) and {@code pid}; the value is every byte after the first
 * {@code =} up to the newline, verbatim (no quoting, no escapes). It is parsed here and never
 * sourced by a shell: the store directory comes from the kernel command line ({@code txfs.store=})
 * and may hold {@code $( ) ; ` '} and any other character but a newline.
 */
record BootedFile(ObjectId snapshot, String rule, Path store, Optional<Long> pid) {
    /** Parses the text of a boot record; a clear error for anything else. */
    static BootedFile parse(String text, String name) {
        Map<String, String> values = new HashMap<>();
        for (String line : text.split("\n", -1)) {
            if (line.isEmpty()) {
                continue;
            }
            int eq = line.indexOf('=');
            if (eq <= 0) {
                throw bad(name, "a line that is not key=value");
            }
            String key = line.substring(0, eq);
            if (values.put(key, line.substring(eq + 1)) != null) {
                throw bad(name, "two lines for " + key);
            }
        }
        String id = values.get("snapshot");
        String store = values.get("store");
        if (id == null || store == null) {
            throw bad(name, "no " + (id == null ? "snapshot=" : "store=") + " line");
        }
        ObjectId snapshot;
        try {
            snapshot = ObjectId.parse(id);
        } catch (IllegalArgumentException e) {
            throw bad(name, "snapshot= is not a snapshot id");
        }
        if (!store.startsWith("/") || store.indexOf('\0') >= 0) {
            throw bad(name, "store= is not an absolute directory");
        }
        Optional<Long> pid = Optional.empty();
        String p = values.get("pid");
        if (p != null && !p.isEmpty()) {
            if (!p.matches("[0-9]{1,10}")) {
                throw bad(name, "pid= is not a number");
            }
            pid = Optional.of(Long.parseLong(p));
        }
        return new BootedFile(snapshot, values.getOrDefault("rule", ""), Path.of(store), pid);
    }

    private static ToolException bad(String name, String what) {
        return new ToolException(ExitCode.USAGE, "malformed boot record " + name + ": " + what);
    }
}
