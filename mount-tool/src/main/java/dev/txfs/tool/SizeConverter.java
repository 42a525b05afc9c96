package dev.txfs.tool;

import java.util.Locale;
import picocli.CommandLine;

/** Parses sizes like {@code 4096}, {@code 512M}, {@code 64G}, {@code 1T} (binary units, optional "iB"/"B"). */
final class SizeConverter implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        String v = value.trim().toUpperCase(Locale.ROOT);
        if (v.endsWith("IB")) {
            v = v.substring(0, v.length() - 2);
        } else if (v.endsWith("B")) {
            v = v.substring(0, v.length() - 1);
        }
        int shift = 0;
        if (!v.isEmpty()) {
            switch (v.charAt(v.length() - 1)) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                case 'T' -> shift = 40;
                case 'P' -> shift = 50;
                default -> shift = -1;
            }
            if (shift >= 0) {
                v = v.substring(0, v.length() - 1);
            } else {
                shift = 0;
            }
        }
        long n;
        try {
            n = Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a size (like 512M, 64G, 1T)");
        }
        if (n <= 0 || Long.numberOfLeadingZeros(n) <= shift) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a usable size");
        }
        return n << shift;
    }
}
