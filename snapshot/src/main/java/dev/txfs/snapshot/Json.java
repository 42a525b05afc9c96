package dev.txfs.snapshot;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * A small streaming JSON writer (RFC 8259) for what commands and control files print: compact
 * output on one line, strings escaped exactly as the RFC requires.
 *
 * <p>Usage: {@code new Json().beginObject().name("id").value(id).endObject().toString()}. Commas
 * and colons are placed by the writer; a misuse (a value where a name is due, an unclosed or
 * over-closed container) throws {@link IllegalStateException}.
 *
 * <p>Escaping: {@code "}, {@code \} and the control characters U+0000–U+001F are escaped ({@code
 * \b \f \n \r \t}, else {@code \}{@code u00XX}); so are U+2028 and U+2029, which RFC 8259 allows
 * raw but JavaScript source does not. Unpaired surrogates (not valid Unicode text) become {@code
 * \}{@code uXXXX} escapes rather than bytes no decoder accepts. Everything else is written as is
 * (the caller encodes the text as UTF-8).
 *
 * <p>Threads: one writer belongs to one thread.
 */
public final class Json {
    private enum Scope {
        OBJECT_NAME, // in an object, a name (or the end) is due
        OBJECT_VALUE, // in an object, after a name: a value is due
        ARRAY,
        TOP
    }

    private final StringBuilder out = new StringBuilder();
    /** Open containers, innermost first. */
    private final Deque<Scope> scopes = new ArrayDeque<>();
    /** Whether the innermost container holds a member already (a comma is due before the next). */
    private final Deque<Boolean> nonEmpty = new ArrayDeque<>();

    private boolean topWritten;

    public Json beginObject() {
        beforeValue();
        out.append('{');
        scopes.push(Scope.OBJECT_NAME);
        nonEmpty.push(false);
        return this;
    }

    public Json endObject() {
        if (scopes.peek() != Scope.OBJECT_NAME) {
            throw new IllegalStateException("endObject outside an object or after a name");
        }
        scopes.pop();
        nonEmpty.pop();
        out.append('}');
        return this;
    }

    public Json beginArray() {
        beforeValue();
        out.append('[');
        scopes.push(Scope.ARRAY);
        nonEmpty.push(false);
        return this;
    }

    public Json endArray() {
        if (scopes.peek() != Scope.ARRAY) {
            throw new IllegalStateException("endArray outside an array");
        }
        scopes.pop();
        nonEmpty.pop();
        out.append(']');
        return this;
    }

    /** The name of the next member of the current object. */
    public Json name(String name) {
        if (scopes.peek() != Scope.OBJECT_NAME) {
            throw new IllegalStateException("a name outside an object, or two names in a row: " + name);
        }
        if (nonEmpty.pop()) {
            out.append(',');
        }
        nonEmpty.push(true);
        quote(out, name);
        out.append(':');
        scopes.pop();
        scopes.push(Scope.OBJECT_VALUE);
        return this;
    }

    /** A string, or null. */
    public Json value(String s) {
        beforeValue();
        if (s == null) {
            out.append("null");
        } else {
            quote(out, s);
        }
        return this;
    }

    public Json value(long n) {
        beforeValue();
        out.append(n);
        return this;
    }

    public Json value(boolean b) {
        beforeValue();
        out.append(b);
        return this;
    }

    public Json nullValue() {
        beforeValue();
        out.append("null");
        return this;
    }

    /** {@code name(name).value(s)}. */
    public Json field(String name, String s) {
        return name(name).value(s);
    }

    public Json field(String name, long n) {
        return name(name).value(n);
    }

    public Json field(String name, boolean b) {
        return name(name).value(b);
    }

    private void beforeValue() {
        Scope s = scopes.isEmpty() ? Scope.TOP : scopes.peek();
        switch (s) {
            case TOP -> {
                if (topWritten) {
                    throw new IllegalStateException("a second top-level value");
                }
                topWritten = true;
            }
            case OBJECT_NAME -> throw new IllegalStateException("a value where a member name is due");
            case OBJECT_VALUE -> {
                scopes.pop();
                scopes.push(Scope.OBJECT_NAME);
            }
            case ARRAY -> {
                if (nonEmpty.pop()) {
                    out.append(',');
                }
                nonEmpty.push(true);
            }
        }
    }

    /** The document; every container must be closed. */
    @Override
    public String toString() {
        if (!scopes.isEmpty()) {
            throw new IllegalStateException(scopes.size() + " unclosed containers");
        }
        return out.toString();
    }

    /** {@code s} as a JSON string literal, quotes included. */
    public static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2);
        quote(b, s);
        return b.toString();
    }

    private static void quote(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c == '\u2028' || c == '\u2029') {
                        unicodeEscape(b, c);
                    } else if (Character.isHighSurrogate(c)
                            && i + 1 < s.length()
                            && Character.isLowSurrogate(s.charAt(i + 1))) {
                        b.append(c).append(s.charAt(++i));
                    } else if (Character.isSurrogate(c)) {
                        unicodeEscape(b, c);
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }

    private static void unicodeEscape(StringBuilder b, char c) {
        b.append("\\u");
        String hex = Integer.toHexString(c);
        b.append("0".repeat(4 - hex.length())).append(hex);
    }
}
