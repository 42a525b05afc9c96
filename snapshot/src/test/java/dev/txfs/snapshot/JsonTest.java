package dev.txfs.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The JSON writer: structure, commas, and escaping as RFC 8259 section 7 requires. */
final class JsonTest {
    @Test
    void writer_whenObjectsAndArraysNest_placesCommasAndColons() {
        String doc = new Json()
                .beginObject()
                .field("id", "ab")
                .name("parents")
                .beginArray()
                .value("p1")
                .value("p2")
                .endArray()
                .name("empty")
                .beginArray()
                .endArray()
                .field("n", -5L)
                .field("ok", true)
                .name("none")
                .nullValue()
                .field("missing", (String) null)
                .name("inner")
                .beginObject()
                .endObject()
                .endObject()
                .toString();
        assertEquals(
                "{\"id\":\"ab\",\"parents\":[\"p1\",\"p2\"],\"empty\":[],\"n\":-5,\"ok\":true,\"none\":null,"
                        + "\"missing\":null,\"inner\":{}}",
                doc);
        assertEquals(
                "[{},[],1]",
                new Json()
                        .beginArray()
                        .beginObject()
                        .endObject()
                        .beginArray()
                        .endArray()
                        .value(1)
                        .endArray()
                        .toString());
    }

    @Test
    void quote_escapesQuoteBackslashAndEveryControlCharacter() {
        assertEquals("\"a\\\"b\\\\c/d\"", Json.quote("a\"b\\c/d"));
        assertEquals("\"\\b\\f\\n\\r\\t\"", Json.quote("\b\f\n\r\t"));
        assertEquals("\"\\u0000\\u0001\\u001f\"", Json.quote("\u0000\u0001\u001f"));
        assertEquals("\" ~\u007f\"", Json.quote(" ~\u007f")); // DEL needs no escape
        for (char c = 0; c < 0x20; c++) {
            String q = Json.quote(String.valueOf(c));
            assertEquals('\\', q.charAt(1), "U+" + Integer.toHexString(c) + " escaped");
        }
    }

    @Test
    void quote_keepsNonAsciiButEscapesLineSeparatorsAndLoneSurrogates() {
        assertEquals("\"é漢😀\"", Json.quote("é漢😀"));
        assertEquals("\"\\u2028\\u2029\"", Json.quote("\u2028\u2029"));
        assertEquals("\"\\ud800x\\udc00\"", Json.quote("\ud800x\udc00"));
        assertEquals("\"\ufffd\"", Json.quote("\ufffd")); // what undecodable name bytes became
    }

    @Test
    void writer_whenMisused_throwsInsteadOfWritingBadJson() {
        assertThrows(IllegalStateException.class, () -> new Json().beginObject().value("no name"));
        assertThrows(
                IllegalStateException.class,
                () -> new Json().beginObject().name("a").name("b"));
        assertThrows(IllegalStateException.class, () -> new Json().beginArray().endObject());
        assertThrows(IllegalStateException.class, () -> new Json().beginObject().toString());
        assertThrows(IllegalStateException.class, () -> new Json().value(1).value(2));
        assertThrows(IllegalStateException.class, () -> new Json().name("top"));
    }
}
