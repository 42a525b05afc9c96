package dev.txfs.tool;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The kernel command line as {@code /proc/cmdline} holds it: words split on blanks, double quotes
 * keep blanks inside a word (and are removed), {@code key=value} or a bare {@code key}. When a key
 * appears twice the last one counts, as for the kernel's own parameters.
 */
record KernelCmdline(Map<String, String> args) {
    static final String ROOT = "txfs.root";
    static final String STORE = "txfs.store";

    static KernelCmdline parse(String line) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String word : words(line)) {
            int eq = word.indexOf('=');
            String key = eq < 0 ? word : word.substring(0, eq);
            out.remove(key); // keep the order of the last occurrence
            out.put(key, eq < 0 ? "" : word.substring(eq + 1));
        }
        return new KernelCmdline(java.util.Collections.unmodifiableMap(out));
    }

    private static List<String> words(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        boolean quoted = false;
        boolean any = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '"') {
                quoted = !quoted;
                any = true;
            } else if (!quoted && Character.isWhitespace(c)) {
                if (any) {
                    out.add(w.toString());
                }
                w.setLength(0);
                any = false;
            } else {
                w.append(c);
                any = true;
            }
        }
        if (any) {
            out.add(w.toString());
        }
        return out;
    }

    Optional<String> find(String key) {
        return Optional.ofNullable(args.get(key));
    }

    /** Where {@code txfs.store=<device>[:<dir>]} says the store is. */
    record StoreLocation(String device, String dir) {}

    /**
     * The store location, if {@code txfs.store} is given. The device is everything before the first
     * colon ({@code /dev/vda1}, {@code UUID=…}, {@code LABEL=…}); the directory, relative to that
     * file system's root, defaults to its root.
     */
    Optional<StoreLocation> store() {
        return find(STORE).map(v -> {
            int colon = v.indexOf(':');
            String device = colon < 0 ? v : v.substring(0, colon);
            String dir = colon < 0 ? "/" : v.substring(colon + 1);
            if (device.isEmpty()) {
                throw new ToolException(ExitCode.USAGE, "txfs.store=" + v + " names no device");
            }
            return new StoreLocation(device, dir.isEmpty() ? "/" : dir);
        });
    }
}
