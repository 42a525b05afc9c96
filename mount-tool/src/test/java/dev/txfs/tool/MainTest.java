package dev.txfs.tool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class MainTest {
    @Test
    void verbNeeded_whenVerbFollowsGlobalOptions_isThatVerb() {
        assertEquals("log", Main.verbNeeded(new String[] {"--store", "/s", "--stacktrace", "log", "-n", "1"}));
        assertEquals("snapshot", Main.verbNeeded(new String[] {"--store=/s", "snapshot", "--from-dir", "x"}));
    }

    @Test
    void verbNeeded_whenOnlyVersion_needsNoVerb() {
        assertEquals("", Main.verbNeeded(new String[] {"--version"}));
        assertEquals("", Main.verbNeeded(new String[] {"-V"}));
    }

    @Test
    void verbNeeded_whenHelpUnknownOrNothing_needsAllVerbs() {
        assertNull(Main.verbNeeded(new String[] {"help", "log"}));
        assertNull(Main.verbNeeded(new String[] {"frobnicate"}));
        assertNull(Main.verbNeeded(new String[] {}));
        assertNull(Main.verbNeeded(new String[] {"--help"}));
    }

    @Test
    void sizeConverter_whenUnitsGiven_parsesBinaryUnits() {
        SizeConverter c = new SizeConverter();
        assertEquals(1L << 40, c.convert("1T"));
        assertEquals(64L << 30, c.convert("64G"));
        assertEquals(512L << 20, c.convert("512MiB"));
        assertEquals(4096L, c.convert("4096"));
    }
}
